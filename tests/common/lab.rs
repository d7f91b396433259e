//! Test-side handle on the namespace lab (`tests/lab/lab.sh`).
//!
//! `Lab::up(nat)` builds the whole topology (client behind the chosen NAT, miredo-server on
//! 192.0.2.1 + 192.0.2.2, a miredo relay on 203.0.113.1:3545, an IPv6-only host) and its
//! `Drop` runs `lab.sh down`, so namespaces and daemons go away even when a test panics.
//! Only one lab exists at a time per test process (a global mutex): the machine is small
//! and the namespace names are fixed per `LAB_ID`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

static LAB_LOCK: Mutex<()> = Mutex::new(());

/// The NAT the lab puts between the client and everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    None,
    Cone,
    Restricted,
    Symmetric,
}

impl Nat {
    pub const ALL: [Nat; 4] = [Nat::None, Nat::Cone, Nat::Restricted, Nat::Symmetric];
    pub fn as_str(self) -> &'static str {
        match self {
            Nat::None => "none",
            Nat::Cone => "cone",
            Nat::Restricted => "restricted",
            Nat::Symmetric => "symmetric",
        }
    }
}

pub struct Lab {
    pub nat: Nat,
    env: HashMap<String, String>,
    lab_id: String,
    _guard: MutexGuard<'static, ()>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

fn lab_id() -> String {
    std::env::var("LAB_ID").unwrap_or_else(|_| "t".to_string())
}

fn run_script(lab_id: &str, args: &[&str]) -> Output {
    Command::new("bash").arg(script()).args(args).env("LAB_ID", lab_id).output().expect("run lab.sh")
}

/// Why the lab cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    for tool in ["miredo-server", "miredo", "nft", "iptables", "ip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    None
}

/// True when the lab tests must run (CI): they never skip there.
pub fn must_run() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

impl Lab {
    /// Bring the lab up with `nat`, or return `None` (after printing why) when the lab
    /// cannot run here and we are not in CI. Under `CI=true` a missing prerequisite panics.
    pub fn up(nat: Nat) -> Option<Lab> {
        let guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = unavailable() {
            if must_run() {
                panic!("lab tests must run under CI=true, but {why}");
            }
            eprintln!("skipping lab test: {why}");
            return None;
        }
        let id = lab_id();
        // Leftovers of a crashed run with the same LAB_ID.
        run_script(&id, &["down"]);
        let out = run_script(&id, &["up", nat.as_str()]);
        assert!(
            out.status.success(),
            "lab.sh up {} failed:\n{}{}",
            nat.as_str(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env_out = run_script(&id, &["env"]);
        let env = String::from_utf8_lossy(&env_out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Lab { nat, env, lab_id: id, _guard: guard })
    }

    /// A value from `lab.sh env` (e.g. `SERVER1`, `NAT_PUBLIC`, `NS_CLI`).
    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).unwrap_or_else(|| panic!("lab env has no {key}"))
    }

    /// Namespace name of a role: cli, nat, inet, srv, rly, v6.
    pub fn ns(&self, role: &str) -> String {
        format!("{}{}", self.get("LAB_PREFIX"), role)
    }

    /// Run `cmd` inside the namespace of `role` and wait for it.
    pub fn exec_in(&self, role: &str, cmd: &[&str]) -> Output {
        self.command_in(role, cmd).output().expect("ip netns exec")
    }

    /// A `Command` that runs `cmd` inside the namespace of `role` (for spawn/stdin use).
    pub fn command_in(&self, role: &str, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(role)]).args(cmd);
        c
    }

    /// `lab.sh natcheck`: the NAT's measured mapping/filtering behaviour.
    pub fn natcheck(&self) -> String {
        let out = run_script(&self.lab_id, &["natcheck"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let out = run_script(&self.lab_id, &["down"]);
        if !out.status.success() {
            eprintln!("lab.sh down: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}
