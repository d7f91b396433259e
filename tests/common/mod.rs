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
