//! The output layer never panics either: arbitrary Teredo payloads on UDP
//! port 3544 (so the dissector takes them as Teredo and walks as far as the
//! bytes allow) are rendered as JSON, as a table line, as the -V tree and as
//! a hex dump, and the JSON parses back.

use proptest::prelude::*;
use std::net::Ipv4Addr;
use teredo_tool::dissect::{dissect_frame, DissectOptions};
use teredo_tool::output::packet::{AddressCache, FrameInfo, PacketView};
use teredo_tool::output::Record;
use teredo_tool::wire::ipv4::{emit_ipv4, IpProtocol};
use teredo_tool::wire::udp::emit_udp;

/// A raw-IP frame (LINKTYPE_RAW) carrying `payload` in UDP 40000 → 3544.
fn frame(payload: &[u8]) -> Vec<u8> {
    let udp = emit_udp(40000, 3544, payload, None);
    let ip = emit_ipv4(
        Ipv4Addr::new(198, 51, 100, 7),
        Ipv4Addr::new(192, 0, 2, 1),
        IpProtocol(17),
        udp.len() + payload.len(),
        64,
        1,
        0,
    );
    let mut f = Vec::with_capacity(28 + payload.len());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f.extend_from_slice(payload);
    f
}

fn render_all(f: &[u8], orig_len: usize) {
    let d = dissect_frame(f, orig_len, 101, &DissectOptions::default());
    let info = FrameInfo {
        file: Some("x.pcap"),
        frame: 1,
        ts_sec: 1_700_000_000,
        ts_nsec: 5,
        ts_digits: 9,
        relative: 0.0,
        interface_id: 0,
        reassembled: false,
    };
    let view = PacketView::new(&info, &d, &mut AddressCache::default()).expect("port 3544 is Teredo");
    let mut buf = Vec::new();
    view.write_json(&mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["frame"], 1);
    assert!(v["type"].is_string());
    let mut table = Vec::new();
    view.with_tree(&d).with_hex().write_table(&mut table, true).unwrap();
    assert!(!table.is_empty());
}

/// A valid-looking start: optional indicators, then an IPv6 header, then noise.
fn teredo_like() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..160), any::<u8>(), any::<u16>()).prop_map(
        |(auth, origin, tail, nh, plen)| {
            let mut p = Vec::new();
            if auth {
                p.extend_from_slice(&[0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
            }
            if origin {
                p.extend_from_slice(&[0, 0, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xd2]);
            }
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(plen % 256).to_be_bytes());
            p.push(nh);
            p.push(64);
            p.extend_from_slice(&[0x20, 0x01, 0, 0, 0xc0, 0, 2, 1, 0, 0, 0x63, 0xbf, 0x39, 0xcc, 0x9b, 0xf8]);
            p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x80, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]);
            p.extend_from_slice(&tail);
            p
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_payloads_render(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        render_all(&frame(&payload), 28 + payload.len());
    }

    #[test]
    fn teredo_like_payloads_render_even_when_cut(p in teredo_like(), cut in 0usize..200) {
        let f = frame(&p);
        let keep = (28 + cut).min(f.len());
        render_all(&f[..keep], f.len());
    }
}
