//! The dissector on real captures, checked field by field against what tshark decodes
//! (testdata/*.tshark.tsv, see testdata/README.md), plus third-party captures read in place.

mod common;

use common::{read_capture, real_capture, testdata, Frame};
use std::collections::BTreeMap;
use teredo_tool::dissect::Detection;
use teredo_tool::dissect::{dissect_frame, DissectOptions, Dissection, MessageType, Upper};
use teredo_tool::error::{DissectError, Layer, NoticeKind};
use teredo_tool::wire::teredo::Hex;

struct Expected {
    icmp_quoted: bool,
    nonce: String,
    orig_port: String,
    orig_addr: String,
    src: String,
    dst: String,
    nxt: u8,
    plen: u16,
    icmpv6_type: String,
}

fn load_tsv(name: &str) -> BTreeMap<usize, Expected> {
    let text = std::fs::read_to_string(testdata(name)).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        // with a quoted datagram tshark lists two values (outer and quoted) for udp ports
        m.insert(
            c[0].parse().unwrap(),
            Expected {
                icmp_quoted: !c[1].is_empty(),
                nonce: c[2].replace(':', ""),
                orig_port: c[3].to_string(),
                orig_addr: c[4].to_string(),
                src: c[5].to_string(),
                dst: c[6].to_string(),
                nxt: c[7].parse().unwrap(),
                plen: c[8].parse().unwrap(),
                icmpv6_type: c[9].to_string(),
            },
        );
    }
    m
}

fn expected_type(e: &Expected) -> MessageType {
    if e.nxt == 59 && e.plen == 0 {
        if e.orig_port.is_empty() {
            MessageType::Bubble
        } else {
            MessageType::IndirectBubble
        }
    } else {
        match e.icmpv6_type.as_str() {
            "133" => MessageType::RouterSolicitation,
            "134" => MessageType::RouterAdvertisement,
            "128" => MessageType::EchoRequest,
            "129" => MessageType::EchoReply,
            _ => MessageType::Data,
        }
    }
}

fn check_against_tshark(capture: &str, tsv: &str) -> (usize, BTreeMap<MessageType, usize>) {
    let frames = read_capture(&testdata(capture));
    let exp = load_tsv(tsv);
    let opts = DissectOptions::default();
    let mut types = BTreeMap::new();
    let mut found = 0;
    for f in &frames {
        let d = dissect_frame(&f.data, f.orig_len, f.linktype, &opts);
        match exp.get(&f.number) {
            None => assert!(!d.is_teredo(), "frame {}: we see Teredo, tshark does not: {:?}", f.number, d.teredo),
            Some(e) => {
                found += 1;
                let t = d.teredo.as_ref().unwrap_or_else(|| panic!("frame {} missed", f.number));
                assert_eq!(d.quoted, e.icmp_quoted, "frame {}", f.number);
                assert_eq!(
                    t.auth.map(|a| Hex(&a.nonce).to_string()).unwrap_or_default(),
                    e.nonce,
                    "frame {}",
                    f.number
                );
                assert_eq!(t.origin.map(|o| o.port.to_string()).unwrap_or_default(), e.orig_port, "frame {}", f.number);
                assert_eq!(
                    t.origin.map(|o| o.address.to_string()).unwrap_or_default(),
                    e.orig_addr,
                    "frame {}",
                    f.number
                );
                let h = t.ipv6.unwrap();
                assert_eq!(h.src.to_string(), e.src, "frame {}", f.number);
                assert_eq!(h.dst.to_string(), e.dst, "frame {}", f.number);
                assert_eq!(h.next_header.0, e.nxt, "frame {}", f.number);
                assert_eq!(h.payload_length, e.plen, "frame {}", f.number);
                if !e.icmpv6_type.is_empty() {
                    match t.upper {
                        Upper::Icmpv6(m) => assert_eq!(m.icmp_type.0.to_string(), e.icmpv6_type),
                        _ => panic!("frame {}: no ICMPv6", f.number),
                    }
                }
                assert_eq!(t.message_type, expected_type(e), "frame {}", f.number);
                if !d.quoted {
                    // complete lab frames: no errors, no trailers. The only notices allowed are
                    // bad UDP checksums: the namespace veths leave them to offload, and
                    // `tshark -o udp.check_checksum:TRUE` flags the same frames as bad.
                    assert!(d.errors.is_empty(), "frame {}: {:?}", f.number, d.errors);
                    assert!(
                        d.notices.iter().all(|n| matches!(n.kind, NoticeKind::BadUdpChecksum { .. })),
                        "frame {}: {:?}",
                        f.number,
                        d.notices
                    );
                    assert!(t.trailers.is_empty() && t.unparsed.is_none());
                    if let Upper::Icmpv6(_) = t.upper {
                        assert_eq!(t.icmpv6_checksum_ok, Some(true), "frame {}", f.number);
                    }
                }
                *types.entry(t.message_type).or_insert(0) += 1;
            }
        }
    }
    (found, types)
}

#[test]
fn miredo_lab_matches_tshark() {
    let (n, types) = check_against_tshark("teredo-lab-miredo.pcapng", "teredo-lab-miredo.tshark.tsv");
    // tshark with the heuristic: 124 UDP Teredo frames + 20 quoted in ICMP (PROTOCOL.md §1.3)
    assert_eq!(n, 144);
    assert!(types[&MessageType::RouterSolicitation] > 0);
    assert!(types[&MessageType::RouterAdvertisement] > 0);
    assert!(types[&MessageType::Bubble] > 0);
    assert!(types[&MessageType::EchoRequest] > 0 && types[&MessageType::EchoReply] > 0);
    eprintln!("{types:?}");
}

#[test]
fn mire_lab_matches_tshark() {
    let (n, _) = check_against_tshark("teredo-lab-mire.pcapng", "teredo-lab-mire.tshark.tsv");
    assert_eq!(n, 18);
}

#[test]
fn miredo_lab_detection_by_port_vs_heuristic() {
    let frames = read_capture(&testdata("teredo-lab-miredo.pcapng"));
    let no_heur = DissectOptions { heuristic: false, extra_ports: vec![], ..DissectOptions::default() };
    let plain = frames.iter().filter(|f| dissect_frame(&f.data, f.orig_len, f.linktype, &no_heur).is_teredo()).count();
    // Plain tshark (port 3544 only) decodes 56 UDP frames + 20 quoted ones; we agree on ports.
    let tshark_plain = 56 + 20;
    assert!(plain <= tshark_plain && plain >= 56, "{plain}");
}

/// Every cut of every Teredo frame: no panic, and a truncation reported at the layer the cut
/// falls into.
#[test]
fn every_truncation_of_lab_frames() {
    let frames = read_capture(&testdata("teredo-lab-miredo.pcapng"));
    let opts = DissectOptions::default();
    let mut cuts = 0;
    for f in &frames {
        let full = dissect_frame(&f.data, f.orig_len, f.linktype, &opts);
        let Some(t) = full.teredo else { continue };
        if full.quoted {
            continue;
        }
        let layers = full.layers();
        for len in 0..f.data.len() {
            let d = dissect_frame(&f.data[..len], f.orig_len, f.linktype, &opts);
            // Before the UDP payload the frame may no longer be recognised; after it, it must.
            if len >= t.offset + 48 {
                assert!(d.is_teredo(), "frame {} cut at {len}", f.number);
            }
            if len >= t.offset && !d.is_teredo() {
                // too little left for the heuristic to recognise a non-3544 frame
                assert_eq!(full.detection, Detection::Heuristic, "frame {} cut at {len}", f.number);
                continue;
            }
            let ip = full.ipv4.unwrap();
            if len < t.offset || len >= ip.offset + usize::from(ip.total_length) {
                continue; // before Teredo, or in the Ethernet padding
            }
            let e = d
                .errors
                .iter()
                .find(|e| e.is_truncated())
                .unwrap_or_else(|| panic!("frame {} cut at {len}: no truncation: {:?}", f.number, d.errors));
            // the layer whose bytes contain the cut point
            let owner = layers
                .iter()
                .rev()
                .find(|l| l.layer != Layer::Teredo && l.offset <= len && len < l.offset + l.len.max(1))
                .map(|l| l.layer);
            if let (Some(owner), DissectError::Truncated { layer, .. }) = (owner, e) {
                // With 0 or 1 bytes of an optional indicator, the dissector cannot know an
                // indicator was there: it reports the IPv6 packet (0 bytes) or the Teredo
                // indicator type (1 byte) as truncated.
                let optional = matches!(owner, Layer::Authentication | Layer::OriginIndication);
                let ok = *layer == owner || (optional && matches!(layer, Layer::Ipv6 | Layer::Teredo));
                assert!(ok, "frame {} cut at {len}: {e} (cut falls in {owner})", f.number);
            }
            cuts += 1;
        }
    }
    assert!(cuts > 5000, "{cuts}");
}

fn count_teredo(frames: &[Frame]) -> usize {
    let opts = DissectOptions::default();
    frames.iter().filter(|f| dissect_frame(&f.data, f.orig_len, f.linktype, &opts).is_teredo()).count()
}

#[test]
fn third_party_negatives_stay_negative() {
    for name in ["zeek-false-teredo.pcap", "zeek-mount-unmount.pcap"] {
        let Some(p) = real_capture(name) else { return };
        let frames = read_capture(&p);
        assert!(!frames.is_empty());
        assert_eq!(count_teredo(&frames), 0, "{name}");
    }
}

#[test]
fn third_party_positives() {
    // (file, Teredo frames per tshark --enable-heuristic teredo_udp, see real/README.md)
    for (name, heur) in [
        ("zeek-Teredo.pcap", 29),
        ("ndpi-teredo.pcap", 24),
        ("packetnet-teredo.pcap", 1),
        ("suricata-verify-output-eve-ftp-data.pcap", 6),
        ("mercury-capture2-20140808-excerpt.pcap", 14),
        ("pcap-parser-wireshark_samples-test.pcapng", 13),
        ("zeek-teredo_bubble_with_payload.pcap", 27),
        // Teredo inside GTP-U: not visible at the outer UDP layer (real/README.md)
        ("zeek-gtp8_teredo.pcap", 0),
    ] {
        let Some(p) = real_capture(name) else { return };
        let frames = read_capture(&p);
        let n = count_teredo(&frames);
        // Frames tshark misses: its heuristic demands 40 + plen == remaining bytes, so it
        // rejects packets with RFC 6081 trailers (mercury: 12 Windows bubbles carrying
        // Nonce, ND Option and Random Port trailers on ports 49690/55645/59656) and packets
        // with other bytes after the IPv6 packet (zeek's hand-edited bubbles with "1234").
        let opts = DissectOptions::default();
        let beyond_tshark = frames
            .iter()
            .map(|f| dissect_frame(&f.data, f.orig_len, f.linktype, &opts))
            .filter(|d| {
                d.detection == Detection::Heuristic
                    && d.teredo.is_some_and(|t| !t.trailers.is_empty() || t.unparsed.is_some())
            })
            .count();
        assert_eq!(n, heur + beyond_tshark, "{name}");
        if name.starts_with("mercury") {
            assert_eq!(beyond_tshark, 12);
        }
        if name.starts_with("zeek-teredo_bubble") {
            assert_eq!(beyond_tshark, 2, "frames 3 and 6");
        }
    }
}

#[test]
fn zeek_bubbles_with_payload_are_found_with_unparsed_bytes() {
    let Some(p) = real_capture("zeek-teredo_bubble_with_payload.pcap") else {
        return;
    };
    let frames = read_capture(&p);
    let opts = DissectOptions::default();
    let mut bubbles_with_junk = 0;
    for f in &frames {
        let d: Dissection = dissect_frame(&f.data, f.orig_len, f.linktype, &opts);
        if let Some(t) = &d.teredo {
            if let Some(u) = t.unparsed {
                assert_eq!(u.bytes, b"1234");
                bubbles_with_junk += 1;
            }
        }
    }
    // The 3 hand-edited bubbles carry "1234" (real/README.md). Frame 5 is on port 3544; frames
    // 3 and 6 are on other ports, where "1234" is not a valid RFC 6081 trailer: tshark's
    // heuristic rejects them, ours keeps them because their addresses are Teredo addresses,
    // and reports the 4 bytes as unparsed instead of dropping the packet.
    assert_eq!(bubbles_with_junk, 3);
}
