//! The `decode` / `encode` record: one address taken apart.

use super::{new_table, Record};
use crate::addr::{classify, AddressKind, Flags, TeredoAddress};
use colored::Colorize;
use comfy_table::{Cell, Color};
use serde::Serialize;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// JSON view of an address. Field names are a public interface: scripts
/// rely on them (see README, "JSON fields").
#[derive(Debug, Clone, Serialize)]
pub struct AddressView {
    pub input: String,
    /// RFC 5952 canonical text.
    pub address: String,
    pub teredo: bool,
    pub kind: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub detail: Option<TeredoView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedded_ipv4: Option<Ipv4Addr>,
    #[serde(skip)]
    description: &'static str,
}

/// The Teredo part of [`AddressView`].
#[derive(Debug, Clone, Serialize)]
pub struct TeredoView {
    pub prefix: &'static str,
    pub server: Ipv4Addr,
    pub flags: u16,
    pub cone: bool,
    pub random_bits: u16,
    pub mapped_port: u16,
    pub mapped_address: Ipv4Addr,
    pub warnings: Vec<String>,
    pub flag_bits: FlagBitsView,
    pub obfuscated_port: u16,
    pub obfuscated_address: Ipv4Addr,
}

/// Each named flag bit (RFC 4380 §4, RFC 5991 §3.1).
#[derive(Debug, Clone, Serialize)]
pub struct FlagBitsView {
    pub cone: bool,
    pub reserved: bool,
    pub u: bool,
    pub g: bool,
}

impl TeredoView {
    pub fn new(t: &TeredoAddress) -> Self {
        TeredoView {
            prefix: t.prefix.as_str(),
            server: t.server,
            flags: t.flags.0,
            cone: t.flags.cone(),
            random_bits: t.flags.random_bits(),
            mapped_port: t.mapped_port,
            mapped_address: t.mapped_address,
            warnings: t.warnings(),
            flag_bits: FlagBitsView {
                cone: t.flags.cone(),
                reserved: t.flags.reserved(),
                u: t.flags.u(),
                g: t.flags.g(),
            },
            obfuscated_port: t.obfuscated_port(),
            obfuscated_address: t.obfuscated_address(),
        }
    }
}

impl AddressView {
    pub fn new(input: &str, addr: Ipv6Addr) -> Self {
        Self::with_input(input.to_string(), addr)
    }

    /// The record of an address seen in a packet: the input is its canonical
    /// text (formatted once).
    pub fn new_canonical(addr: Ipv6Addr) -> Self {
        let mut v = Self::with_input(String::new(), addr);
        v.input.clone_from(&v.address);
        v
    }

    fn with_input(input: String, addr: Ipv6Addr) -> Self {
        let kind = classify(addr);
        let detail = match kind {
            AddressKind::Teredo(t) => Some(TeredoView::new(&t)),
            _ => None,
        };
        AddressView {
            input,
            address: addr.to_string(),
            teredo: detail.is_some(),
            kind: kind.as_str(),
            embedded_ipv4: if detail.is_some() { None } else { kind.embedded_ipv4() },
            detail,
            description: kind.describe(),
        }
    }
}

fn key(s: &str, color: bool) -> Cell {
    let c = Cell::new(s);
    if color {
        c.fg(Color::Cyan)
    } else {
        c
    }
}

fn flag_line(f: Flags) -> String {
    let bit = |on: bool| if on { '1' } else { '0' };
    format!(
        "C={} cone  R={} reserved  U={}  G={}  random 0x{:04x} (12 bits: 0x{:03x})",
        bit(f.cone()),
        bit(f.reserved()),
        bit(f.u()),
        bit(f.g()),
        f.random_bits(),
        // The 12 random bits as one number: AAAA (bits 13..10) then AAAAAAAA.
        ((f.0 & 0x3C00) >> 2) | (f.0 & 0x00FF)
    )
}

impl Record for AddressView {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("address view serialises")
    }

    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let title = if self.teredo {
            "Teredo".green().bold().to_string()
        } else {
            format!("not Teredo: {}", self.kind).yellow().to_string()
        };
        if self.input == self.address {
            writeln!(w, "{}  {}", self.address.bold(), title)?;
        } else {
            writeln!(w, "{}  {}  (input {})", self.address.bold(), title, self.input)?;
        }
        let mut t = new_table(color);
        match &self.detail {
            Some(d) => {
                let f = Flags(d.flags);
                t.add_row(vec![key("prefix", color), Cell::new(d.prefix)]);
                t.add_row(vec![key("server", color), Cell::new(d.server)]);
                t.add_row(vec![
                    key("flags", color),
                    Cell::new(format!("0x{:04x}  {}  (CRAAAAUG AAAAAAAA)\n{}", d.flags, f.bit_string(), flag_line(f))),
                ]);
                t.add_row(vec![key("cone", color), Cell::new(if d.cone { "yes" } else { "no" })]);
                t.add_row(vec![
                    key("mapped port", color),
                    Cell::new(format!("{}  (obfuscated 0x{:04x})", d.mapped_port, d.obfuscated_port)),
                ]);
                t.add_row(vec![
                    key("mapped address", color),
                    Cell::new(format!("{}  (obfuscated {})", d.mapped_address, d.obfuscated_address)),
                ]);
                for (i, warning) in d.warnings.iter().enumerate() {
                    let c = Cell::new(warning);
                    t.add_row(vec![
                        key(if i == 0 { "warnings" } else { "" }, color),
                        if color { c.fg(Color::Yellow) } else { c },
                    ]);
                }
            }
            None => {
                t.add_row(vec![key("kind", color), Cell::new(format!("{} — {}", self.kind, self.description))]);
                if let Some(v4) = self.embedded_ipv4 {
                    t.add_row(vec![key("embedded IPv4", color), Cell::new(v4)]);
                }
            }
        }
        writeln!(w, "{t}")?;
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields_for_teredo() {
        let v = AddressView::new(
            "2001:0:ce49:7601:e866:efff:62c3:fffe",
            "2001:0:ce49:7601:e866:efff:62c3:fffe".parse().unwrap(),
        )
        .to_json();
        assert_eq!(v["teredo"], true);
        assert_eq!(v["prefix"], "2001::/32");
        assert_eq!(v["server"], "206.73.118.1");
        assert_eq!(v["flags"], 0xE866);
        assert_eq!(v["cone"], true);
        assert_eq!(v["random_bits"], 0x2866);
        assert_eq!(v["mapped_port"], 4096);
        assert_eq!(v["mapped_address"], "157.60.0.1");
        assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
        assert!(v.get("embedded_ipv4").is_none());
    }

    #[test]
    fn json_fields_for_other() {
        let v = AddressView::new("2002:c000:204::1", "2002:c000:204::1".parse().unwrap()).to_json();
        assert_eq!(v["teredo"], false);
        assert_eq!(v["kind"], "6to4");
        assert_eq!(v["embedded_ipv4"], "192.0.2.4");
        assert!(v.get("server").is_none());
    }

    #[test]
    fn random_bits_packed_for_people() {
        // 0x3CFF -> all 12 random bits -> 0xfff
        assert!(flag_line(Flags(0x3CFF)).ends_with("random 0x3cff (12 bits: 0xfff)"));
        assert!(flag_line(Flags(0x0400)).ends_with("random 0x0400 (12 bits: 0x100)"));
    }
}
