//! What the benches share: captures made by the generator (examples/gencap.rs).

use std::path::PathBuf;
use std::process::Command;

/// The generated capture of `packets` packets (seed 1) and its truth file (one class label a
/// frame), made once into target/bench-data/.
pub fn generated(packets: u32) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("create target/bench-data");
    let pcap = dir.join(format!("gencap-{packets}-s1.pcap"));
    let truth = dir.join(format!("gencap-{packets}-s1.truth"));
    if !pcap.exists() || !truth.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--quiet", "--release", "--example", "gencap", "--", "--packets", &packets.to_string()])
            .args(["--seed", "1", "-o"])
            .arg(&pcap)
            .arg("--truth")
            .arg(&truth)
            .status()
            .expect("run gencap");
        assert!(status.success(), "gencap failed");
    }
    (pcap, truth)
}
