//! A hint to the processor: bring a value's cache line in before it is needed.

/// Prefetches the cache line holding `x` into every cache level. A hint only: it changes
/// nothing the program computes, only when memory is read.
#[inline(always)]
pub(super) fn read<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is unsafe only because it needs the SSE target feature, and every
    // x86_64 processor has SSE (Rust's x86_64 targets enable it: it is part of the baseline).
    // PREFETCHT0 does not access memory architecturally: it never faults, whatever the
    // address, and changes no state a program can see. The address is moreover that of a live
    // reference.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}
