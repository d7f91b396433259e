//! Views of probe results: the JSON field names are a contract (issue 6), so they are
//! spelled out here instead of deriving Serialize on the library types.

use super::{new_table, Record};
use crate::probe::relay::{Discovery, PingStats};
use crate::probe::{NatType, Qualification, Step};
use colored::Colorize;
use comfy_table::Cell;
use serde_json::{json, Value};
use std::io::{self, Write};
use std::time::Duration;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn step_json(s: &Step) -> Value {
    json!({
        "sent": s.sent,
        "from": s.from.to_string(),
        "to": s.to.to_string(),
        "tries": s.tries,
        "answer": s.answer.as_ref().map(|a| json!({
            "what": a.what,
            "from": a.from.to_string(),
            "mapped": a.mapped.map(|m| m.to_string()),
        })),
        "rtt_ms": s.rtt.map(ms),
    })
}

/// One server's probe result, optionally with relay discovery and ping.
pub struct ProbeView<'a> {
    pub q: &'a Qualification,
    pub discovery: Option<&'a Discovery>,
    pub ping: Option<&'a PingStats>,
}

impl ProbeView<'_> {
    pub fn value(&self) -> Value {
        let q = self.q;
        let mut v = json!({
            "server": q.server,
            "server_address": q.server_address.to_string(),
            "secondary": q.secondary.to_string(),
            "nat_type": q.nat_type.as_str(),
            "mapped_address": q.mapped.map(|m| m.ip().to_string()),
            "mapped_port": q.mapped.map(|m| m.port()),
            "local_address": q.local.ip().to_string(),
            "local_port": q.local.port(),
            "port_preserving": q.port_preserving,
            "teredo_address": q.teredo_address.map(|a| a.to_string()),
            "prefix": q.prefix.map(|p| format!("{p}/64")),
            "mtu": q.mtu,
            "steps": q.steps.iter().map(step_json).collect::<Vec<_>>(),
            "ignored": q.ignored.iter().map(|i| json!({"from": i.from.to_string(), "reason": i.reason})).collect::<Vec<_>>(),
            "elapsed_ms": ms(q.elapsed),
        });
        if let Some(d) = self.discovery {
            let o = v.as_object_mut().expect("object");
            o.insert("target".into(), json!(d.target.to_string()));
            o.insert(
                "relay".into(),
                d.relay.map_or(Value::Null, |r| json!({"address": r.ip().to_string(), "port": r.port()})),
            );
            o.insert("path".into(), json!(d.path.map(|p| p.as_str())));
            o.insert("relay_steps".into(), json!(d.steps.iter().map(step_json).collect::<Vec<_>>()));
            o.insert("discovery_ms".into(), json!(d.rtt.map(ms)));
            let ign: Vec<Value> =
                d.ignored.iter().map(|i| json!({"from": i.from.to_string(), "reason": i.reason})).collect();
            o.insert("relay_ignored".into(), json!(ign));
        }
        if let Some(p) = self.ping {
            let o = v.as_object_mut().expect("object");
            o.insert("sent".into(), json!(p.sent));
            o.insert("received".into(), json!(p.received));
            o.insert("loss_percent".into(), json!(p.loss_percent()));
            let k = &p.keepalives;
            o.insert(
                "keepalives".into(),
                json!({"sent": k.sent, "answered": k.answered,
                       "mapping_changed": k.mapping_changed.map(|m| m.to_string())}),
            );
            let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
            o.insert(
                "rtt_ms".into(),
                p.summary_ms().map_or(
                    Value::Null,
                    |(min, avg, max, mdev)| json!({"min": r3(min), "avg": r3(avg), "max": r3(max), "mdev": r3(mdev)}),
                ),
            );
        }
        v
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |x| x.to_string())
}

impl Record for ProbeView<'_> {
    fn to_json(&self) -> Value {
        self.value()
    }

    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let q = self.q;
        let verdict = match q.nat_type {
            NatType::Offline => q.nat_type.as_str().red().bold().to_string(),
            NatType::Symmetric | NatType::Unknown => q.nat_type.as_str().yellow().bold().to_string(),
            _ => q.nat_type.as_str().green().bold().to_string(),
        };
        writeln!(w, "{} ({})  NAT: {}", q.server.bold(), q.server_address, verdict)?;
        let mut t = new_table(color);
        let rows = [
            ("secondary", q.secondary.to_string()),
            ("mapped", opt(q.mapped)),
            ("local", q.local.to_string()),
            ("port preserving", opt(q.port_preserving)),
            ("teredo address", opt(q.teredo_address)),
            ("prefix", opt(q.prefix.map(|p| format!("{p}/64")))),
            ("mtu", opt(q.mtu)),
            ("elapsed", format!("{:.1} ms", ms(q.elapsed))),
        ];
        for (k, v) in rows {
            t.add_row(vec![Cell::new(k), Cell::new(v)]);
        }
        if let Some(d) = self.discovery {
            t.add_row(vec![Cell::new("target"), Cell::new(d.target)]);
            t.add_row(vec![Cell::new("relay"), Cell::new(opt(d.relay))]);
            t.add_row(vec![Cell::new("path"), Cell::new(opt(d.path.map(|p| p.as_str())))]);
        }
        if let Some(p) = self.ping {
            let stats = match p.summary_ms() {
                Some((a, b, c, d)) => format!("rtt min/avg/max/mdev = {a:.3}/{b:.3}/{c:.3}/{d:.3} ms"),
                None => "no replies".into(),
            };
            t.add_row(vec![
                Cell::new("ping"),
                Cell::new(format!(
                    "{} sent, {} received, {:.0}% loss\n{stats}\nkeepalives: {} sent, {} answered{}",
                    p.sent,
                    p.received,
                    p.loss_percent(),
                    p.keepalives.sent,
                    p.keepalives.answered,
                    p.keepalives.mapping_changed.map_or(String::new(), |m| format!(", mapping changed to {m}"))
                )),
            ]);
        }
        writeln!(w, "{t}")?;
        let mut s = new_table(color);
        s.set_header(vec!["sent", "from", "to", "tries", "answer", "rtt"]);
        let all = q.steps.iter().chain(self.discovery.iter().flat_map(|d| d.steps.iter()));
        for st in all {
            let ans = st.answer.as_ref().map_or("-".to_string(), |a| match a.mapped {
                Some(m) => format!("{} from {} (mapped {m})", a.what, a.from),
                None => format!("{} from {}", a.what, a.from),
            });
            s.add_row(vec![
                st.sent.clone(),
                st.from.to_string(),
                st.to.to_string(),
                st.tries.to_string(),
                ans,
                st.rtt.map_or("-".into(), |r| format!("{:.3} ms", ms(r))),
            ]);
        }
        writeln!(w, "{s}")?;
        let ignored = q.ignored.iter().chain(self.discovery.iter().flat_map(|d| d.ignored.iter()));
        for i in ignored {
            writeln!(w, "ignored from {}: {}", i.from, i.reason)?;
        }
        Ok(())
    }
}

/// One row of the health table (several servers).
pub struct HealthView<'a>(pub &'a Qualification);

impl HealthView<'_> {
    /// Sort key: reachable first, then cone answered, secondary reachable, lower RTT.
    pub fn rank(q: &Qualification) -> (bool, bool, bool, Duration) {
        (
            !q.primary_answered() && !q.cone_answered(),
            !q.cone_answered(),
            !q.secondary_answered(),
            q.rtt.unwrap_or(Duration::MAX),
        )
    }
}

impl Record for HealthView<'_> {
    fn to_json(&self) -> Value {
        let q = self.0;
        let mut v = ProbeView { q, discovery: None, ping: None }.value();
        let o = v.as_object_mut().expect("object");
        o.insert("reachable".into(), json!(q.primary_answered() || q.cone_answered()));
        o.insert("cone_answered".into(), json!(q.cone_answered()));
        o.insert("non_cone_answered".into(), json!(q.primary_answered()));
        o.insert("secondary_reachable".into(), json!(q.secondary_answered()));
        o.insert("ra_rtt_ms".into(), json!(q.rtt.map(ms)));
        v
    }

    fn write_table(&self, w: &mut dyn Write, _color: bool) -> io::Result<()> {
        let q = self.0;
        let yn = |b: bool| if b { "yes" } else { "no" };
        writeln!(
            w,
            "{:<28} {:<15} {:<9} {:<10} {:<5} {:<9} {:<9} {:>10}  {}",
            q.server,
            q.server_address,
            yn(q.primary_answered() || q.cone_answered()),
            q.nat_type.as_str(),
            yn(q.cone_answered()),
            yn(q.primary_answered()),
            yn(q.secondary_answered()),
            q.rtt.map_or("-".into(), |r| format!("{:.1} ms", ms(r))),
            opt(q.prefix.map(|p| format!("{p}/64")))
        )
    }
}

/// Header line of the health table.
pub fn health_header(w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{:<28} {:<15} {:<9} {:<10} {:<5} {:<9} {:<9} {:>10}  prefix",
        "server", "address", "reachable", "nat_type", "cone", "non-cone", "secondary", "rtt"
    )
}
