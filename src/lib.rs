//! teredo-tool: Teredo (RFC 4380) addresses, packets, captures and probes.
//!
//! ```
//! use teredo_tool::addr::TeredoAddress;
//! let t = TeredoAddress::decode("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap()).unwrap();
//! assert_eq!(t.server.to_string(), "65.54.227.120");
//! assert_eq!((t.mapped_address.to_string(), t.mapped_port), ("192.0.2.45".to_string(), 40000));
//! assert!(t.flags.cone());
//! ```
// One exception, allowed where it is: a cache prefetch hint (src/analyze/prefetch.rs, with
// the proof that it is sound).
#![deny(unsafe_code)]

pub mod addr;
pub mod analyze;
pub mod capture;
pub mod dissect;
pub mod error;
#[cfg(feature = "live")]
pub mod live;
pub mod nat;
pub mod output;
pub mod probe;
pub mod reassembly;
pub mod stats;
pub mod wire;
