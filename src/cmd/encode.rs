//! `teredo-tool encode`: build a Teredo address from its parts.

use super::UsageError;
use crate::cli::EncodeArgs;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;
use teredo_tool::addr::{Flags, TeredoAddress, TeredoPrefix};
use teredo_tool::output::{AddressView, Output};

pub fn run<W: Write>(args: &EncodeArgs, out: &mut Output<W>) -> anyhow::Result<ExitCode> {
    let server = parse_ipv4("--server", &args.server)?;
    let mapped = parse_mapped(&args.mapped)?;
    let mut flags = match &args.flags {
        Some(text) => {
            let f = parse_flags(text)?;
            if args.cone && f & Flags::CONE == 0 {
                return Err(UsageError(format!(
                    "--flags {text} has the cone bit (0x8000) clear, which contradicts --cone"
                ))
                .into());
            }
            f
        }
        None => 0,
    };
    if args.cone {
        flags |= Flags::CONE;
    }
    if args.random {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("reading the OS random source: {e}"))?;
        flags |= u16::from_be_bytes(b) & Flags::RANDOM_MASK;
    }
    let t = TeredoAddress {
        prefix: if args.legacy_prefix { TeredoPrefix::Legacy } else { TeredoPrefix::Rfc4380 },
        server,
        flags: Flags(flags),
        mapped_port: mapped.port(),
        mapped_address: *mapped.ip(),
    };
    let addr = t.encode();
    out.record(&AddressView::new(&addr.to_string(), addr))?;
    Ok(ExitCode::SUCCESS)
}

fn parse_ipv4(opt: &str, s: &str) -> Result<Ipv4Addr, UsageError> {
    s.parse().map_err(|_| UsageError(format!("{opt} {s:?}: not an IPv4 address (expected a.b.c.d)")))
}

fn parse_mapped(s: &str) -> Result<SocketAddrV4, UsageError> {
    let Some((ip, port)) = s.rsplit_once(':') else {
        return Err(UsageError(format!("--mapped {s:?}: expected IPV4:PORT, e.g. 192.0.2.45:40000")));
    };
    let ip = parse_ipv4("--mapped", ip)?;
    let port: u32 = port.parse().map_err(|_| UsageError(format!("--mapped {s:?}: port {port:?} is not a number")))?;
    let port =
        u16::try_from(port).map_err(|_| UsageError(format!("--mapped {s:?}: port {port} out of range 0-65535")))?;
    Ok(SocketAddrV4::new(ip, port))
}

fn parse_flags(s: &str) -> Result<u16, UsageError> {
    let t = s.trim();
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse::<u32>(),
    }
    .map_err(|_| UsageError(format!("--flags {s:?}: expected a number such as 0x8000")))?;
    u16::try_from(v).map_err(|_| UsageError(format!("--flags {s:?}: more than 16 bits (maximum 0xffff)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_forms() {
        assert_eq!(parse_flags("0x8000").unwrap(), 0x8000);
        assert_eq!(parse_flags("0XE866").unwrap(), 0xE866);
        assert_eq!(parse_flags("32768").unwrap(), 0x8000);
        assert!(parse_flags("0x10000").is_err());
        assert!(parse_flags("cone").is_err());
    }

    #[test]
    fn mapped_forms() {
        assert_eq!(parse_mapped("192.0.2.45:40000").unwrap(), "192.0.2.45:40000".parse().unwrap());
        assert!(parse_mapped("192.0.2.45").unwrap_err().0.contains("IPV4:PORT"));
        assert!(parse_mapped("192.0.2.45:65536").unwrap_err().0.contains("out of range"));
        assert!(parse_mapped("192.0.2:1").unwrap_err().0.contains("not an IPv4"));
    }
}
