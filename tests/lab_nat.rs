//! The lab's NATs behave as named: measured with plain UDP (tests/lab/natcheck.py) before
//! anything Teredo is built on them. Runs as root with miredo installed; never skips in CI.
mod common;
use common::lab::{Lab, Nat};

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// natcheck.py needs python3 (Debian package `python3`, installed by .ci/run when missing).
/// Under CI=true its absence fails the test with that message; elsewhere the test skips.
fn python3_available() -> bool {
    let found = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!common::lab::must_run(), "tests/lab_nat.rs needs python3 on PATH (Debian package python3)");
        eprintln!("skipping: python3 is not on PATH (needed by tests/lab/natcheck.py)");
    }
    found
}

#[test]
fn nats_behave_as_named() {
    if !python3_available() {
        return;
    }
    for nat in Nat::ALL {
        let Some(lab) = Lab::up(nat) else { return };
        let line = lab.natcheck();
        let (mapping, filtering) = (field(&line, "mapping"), field(&line, "filtering"));
        let local: u16 = field(&line, "local_port").parse().unwrap();
        let mapped1 = field(&line, "mapped1");
        let (addr, port) = mapped1.rsplit_once(':').expect("mapped1 addr:port");
        let port: u16 = port.parse().unwrap();
        assert_eq!(addr, lab.get("NAT_PUBLIC"), "{nat:?}: {line}");
        match nat {
            Nat::None => {
                assert_eq!(port, local, "{line}");
                assert_eq!((mapping, filtering), ("EIM", "EIF"), "{line}");
            }
            Nat::Cone => {
                assert_eq!(port, local ^ 0x0f0f, "{line}");
                assert_eq!((mapping, filtering), ("EIM", "EIF"), "{line}");
            }
            Nat::Restricted => {
                assert_eq!(port, local ^ 0x0f0f, "{line}");
                assert_eq!((mapping, filtering), ("EIM", "APDF"), "{line}");
            }
            Nat::Symmetric => {
                assert_ne!(port, local, "{line}");
                assert_eq!(mapping, "dependent", "{line}");
            }
        }
    }
}
