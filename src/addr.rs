//! Teredo addresses (RFC 4380 §4, RFC 5991 §3). Work in progress.
