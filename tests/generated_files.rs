//! The committed completions/ and man/ must be what the binary generates now.

mod common;
use std::fs;
use std::path::Path;

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn completions_and_man_pages_are_fresh() {
    let tmp = std::env::temp_dir().join(format!("teredo-tool-gen-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let (comp, man) = (tmp.join("completions"), tmp.join("man"));
    let (code, _, err) =
        common::run(&["generate", "--completions", comp.to_str().unwrap(), "--man", man.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{err}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (fresh, committed) in [(&comp, root.join("completions")), (&man, root.join("man"))] {
        assert_eq!(
            listing(fresh),
            listing(&committed),
            "files in {} differ; run `cargo run -- generate`",
            committed.display()
        );
        for name in listing(fresh) {
            let a = fs::read(fresh.join(&name)).unwrap();
            let b = fs::read(committed.join(&name)).unwrap();
            assert!(a == b, "{}/{name} is stale; run `cargo run -- generate` and commit", committed.display());
        }
    }
    assert!(listing(&man).contains(&"teredo-tool-decode.1".to_string()));
    fs::remove_dir_all(&tmp).unwrap();
}
