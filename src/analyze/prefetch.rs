//! A hint to the processor: bring a value's cache line in before it is needed.

/// Prefetches the cache line holding `x` into every cache level. A hint only: it changes
/// nothing the program computes, only when memory is read.
#[inline(always)]
pub(super) fn read<T>(x: &T) {
    address(std::ptr::from_ref(x).cast::<u8>());
}

/// Prefetches the cache line holding address `p` into every cache level, whatever `p` is: a
/// prefetch never faults.
#[inline(always)]
pub(super) fn address(p: *const u8) {
    hint::<T0>(p);
}

/// Prefetches the cache line holding address `p` into the second-level cache (not the first,
/// which it would crowd when fetched long before use).
#[inline(always)]
pub(super) fn address_l2(p: *const u8) {
    hint::<T1>(p);
}

#[cfg(target_arch = "x86_64")]
const T0: i32 = core::arch::x86_64::_MM_HINT_T0;
#[cfg(target_arch = "x86_64")]
const T1: i32 = core::arch::x86_64::_MM_HINT_T1;
#[cfg(not(target_arch = "x86_64"))]
const T0: i32 = 0;
#[cfg(not(target_arch = "x86_64"))]
const T1: i32 = 0;

#[inline(always)]
fn hint<const LEVEL: i32>(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is unsafe only because it needs the SSE target feature, and every
    // x86_64 processor has SSE (Rust's x86_64 targets enable it: it is part of the baseline).
    // PREFETCHT0/T1 do not access memory architecturally: they never fault, whatever the
    // address (valid, dangling, unmapped or null), and change no state a program can see;
    // the pointer is not dereferenced by Rust either.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<LEVEL>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
