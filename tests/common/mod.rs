//! Helpers shared by the integration tests: run the real binary.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_teredo-tool"));
    c.env_remove("NO_COLOR");
    c
}

/// Runs the binary with `args` and `stdin`, returning (status code, stdout, stderr).
pub fn run(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    run_with(bin().args(args), stdin)
}

pub fn run_with(cmd: &mut Command, stdin: &[u8]) -> (i32, String, String) {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn teredo-tool");
    {
        let mut si = child.stdin.take().unwrap();
        // A command may not read stdin at all; a broken pipe here is fine.
        let _ = si.write_all(stdin);
    }
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    (status.code().unwrap_or(-1), String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

/// True when tests that need an external tool must run rather than skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The namespace lab (tests/lab/lab.sh) for the prober tests.
pub mod lab;

// ---- test-only capture reader (pcap and pcapng), for the dissector tests ----
use std::path::{Path, PathBuf};

pub struct Frame {
    pub number: usize,
    pub linktype: u32,
    pub orig_len: usize,
    pub data: Vec<u8>,
}

fn u16_at(b: &[u8], o: usize, le: bool) -> u16 {
    let x = [b[o], b[o + 1]];
    if le {
        u16::from_le_bytes(x)
    } else {
        u16::from_be_bytes(x)
    }
}
fn u32_at(b: &[u8], o: usize, le: bool) -> u32 {
    let x = [b[o], b[o + 1], b[o + 2], b[o + 3]];
    if le {
        u32::from_le_bytes(x)
    } else {
        u32::from_be_bytes(x)
    }
}

pub fn read_capture(path: &Path) -> Vec<Frame> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let magic = u32_at(&b, 0, true);
    let mut frames = Vec::new();
    match magic {
        0xa1b2c3d4 | 0xa1b23c4d | 0xd4c3b2a1 | 0x4d3cb2a1 => {
            let le = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
            let linktype = u32_at(&b, 20, le) & 0x0fff_ffff;
            let mut o = 24;
            while o + 16 <= b.len() {
                let incl = u32_at(&b, o + 8, le) as usize;
                let orig = u32_at(&b, o + 12, le) as usize;
                let data = b[o + 16..o + 16 + incl].to_vec();
                frames.push(Frame { number: frames.len() + 1, linktype, orig_len: orig, data });
                o += 16 + incl;
            }
        }
        0x0a0d0d0a => {
            let mut o = 0;
            let mut le = true;
            let mut ifaces: Vec<u32> = Vec::new();
            while o + 12 <= b.len() {
                let t = u32_at(&b, o, le);
                if t == 0x0a0d0d0a {
                    le = u32_at(&b, o + 8, true) == 0x1a2b3c4d;
                    ifaces.clear();
                }
                let len = u32_at(&b, o + 4, le) as usize;
                match t {
                    1 => ifaces.push(u32::from(u16_at(&b, o + 8, le))),
                    6 => {
                        let ifc = u32_at(&b, o + 8, le) as usize;
                        let cap = u32_at(&b, o + 20, le) as usize;
                        let orig = u32_at(&b, o + 24, le) as usize;
                        frames.push(Frame {
                            number: frames.len() + 1,
                            linktype: ifaces[ifc],
                            orig_len: orig,
                            data: b[o + 28..o + 28 + cap].to_vec(),
                        });
                    }
                    3 => {
                        let orig = u32_at(&b, o + 8, le) as usize;
                        let cap = orig.min(len - 16);
                        frames.push(Frame {
                            number: frames.len() + 1,
                            linktype: ifaces[0],
                            orig_len: orig,
                            data: b[o + 12..o + 12 + cap].to_vec(),
                        });
                    }
                    _ => {}
                }
                o += len;
            }
        }
        _ => panic!("{}: not a capture", path.display()),
    }
    frames
}

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// A third-party capture read in place; None (skip) only when the folder is absent outside CI.
pub fn real_capture(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/real");
    let dir = if dir.is_dir() { dir } else { PathBuf::from("/work/shared/captures/real") };
    if !dir.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "shared/captures/real is missing in CI");
        eprintln!("skipping: {} absent", dir.display());
        return None;
    }
    Some(dir.join(name))
}
