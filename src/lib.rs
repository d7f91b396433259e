//! teredo-tool: Teredo (RFC 4380) addresses, packets, captures and probes.
#![forbid(unsafe_code)]

pub mod addr;
pub mod capture;
