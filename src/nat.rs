//! The NAT types of Teredo qualification (RFC 4380 §5.2.1), shared by the
//! prober (which measures them) and the capture analysis (which reads them
//! off a qualification it sees).

/// NAT type as Teredo qualification sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatType {
    /// No NAT: mapped address and port equal the local ones.
    None,
    /// Cone: an RA from the other server address reached the client
    /// (endpoint-independent filtering).
    Cone,
    /// Restricted: the same mapping towards both server addresses, but the
    /// cone RA was filtered.
    Restricted,
    /// Symmetric: a different mapping towards the secondary server address.
    Symmetric,
    /// Not determined: e.g. the primary answered but the secondary did not,
    /// or the capture does not show enough.
    Unknown,
    /// No valid RA at all: Teredo is unusable from here (prober only).
    Offline,
}

impl NatType {
    /// `none`, `cone`, `restricted`, `symmetric`, `unknown`, `offline`.
    pub fn as_str(self) -> &'static str {
        match self {
            NatType::None => "none",
            NatType::Cone => "cone",
            NatType::Restricted => "restricted",
            NatType::Symmetric => "symmetric",
            NatType::Unknown => "unknown",
            NatType::Offline => "offline",
        }
    }
}
