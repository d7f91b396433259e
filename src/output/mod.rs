//! Output formats shared by every command: a table for people (colour on a
//! terminal), one JSON document, or NDJSON (one object per line, written as
//! each record is ready).
//!
//! Commands hand [`Output`] records that implement [`Record`]; the format is
//! chosen once, here, so that every command honours `--format` and
//! `--color` the same way.

mod address;
pub mod ipfmt;
pub mod jsontext;
pub mod packet;
pub mod probe;
pub mod table;
pub mod time;

pub use address::AddressView;
pub use jsontext::Style;

use std::io::{self, IsTerminal, Write};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Ndjson,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream: `auto` colours only a terminal, and only
    /// when `NO_COLOR` is unset or empty (<https://no-color.org>) and TERM is
    /// not `dumb`.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }

    /// Decides for stdout and sets the `colored` crate's global switch.
    pub fn apply_to_stdout(self) -> bool {
        let on = self.enabled(io::stdout().is_terminal());
        colored::control::set_override(on);
        on
    }
}

/// Something a command prints: one row, block or JSON object.
pub trait Record {
    /// The JSON object for `json` and `ndjson`.
    fn to_json(&self) -> serde_json::Value;
    /// Appends the object as compact JSON (one NDJSON line, without the
    /// newline) to `buf`. Records on a hot path override this to serialise
    /// without building a `Value` first; a concrete `Vec` lets serde inline
    /// every write.
    fn write_json(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        serde_json::to_writer(buf, &self.to_json()).map_err(io::Error::from)
    }
    /// The human rendering for `table`.
    fn write_table(&self, w: &mut dyn Write, color: bool) -> io::Result<()>;
}

/// Writes records in the chosen format.
pub struct Output<W: Write> {
    format: Format,
    color: bool,
    w: W,
    count: u64,
    flush_each: bool,
    /// A single document was written: no array to open or close.
    document: bool,
    /// Reused for each NDJSON line.
    scratch: Vec<u8>,
}

impl<W: Write> Output<W> {
    pub fn new(w: W, format: Format, color: bool) -> Self {
        Output { format, color, w, count: 0, flush_each: false, document: false, scratch: Vec::with_capacity(4096) }
    }

    /// Flush after every record (live capture, probes: show things as they
    /// happen even through a pipe).
    pub fn flush_each(mut self, yes: bool) -> Self {
        self.flush_each = yes;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn color(&self) -> bool {
        self.color
    }

    /// Records written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The underlying writer, for a header or a footer in table mode.
    pub fn writer(&mut self) -> &mut W {
        &mut self.w
    }

    pub fn record(&mut self, r: &dyn Record) -> io::Result<()> {
        match self.format {
            Format::Table => r.write_table(&mut self.w, self.color)?,
            Format::Ndjson => {
                self.scratch.clear();
                r.write_json(&mut self.scratch)?;
                self.scratch.push(b'\n');
                self.w.write_all(&self.scratch)?;
            }
            Format::Json => {
                self.w.write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
                let text = serde_json::to_string_pretty(&r.to_json())?;
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        self.w.write_all(b"\n")?;
                    }
                    self.w.write_all(b"  ")?;
                    self.w.write_all(line.as_bytes())?;
                }
            }
        }
        self.count += 1;
        if self.flush_each {
            self.w.flush()?;
        }
        Ok(())
    }

    /// Writes `n` records rendered elsewhere (NDJSON lines or table rows, as
    /// [`Output::record`] writes them), for records made on other threads.
    pub fn rendered(&mut self, lines: &[u8], n: u64) -> io::Result<()> {
        debug_assert_ne!(self.format, Format::Json);
        self.w.write_all(lines)?;
        self.count += n;
        if self.flush_each {
            self.w.flush()?;
        }
        Ok(())
    }

    /// Ends the document (closes the JSON array) and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.format == Format::Json && !self.document {
            self.w.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        self.w.flush()
    }

    /// Writes a single JSON document with `write`, which is handed the
    /// writer and the layout of the format: [`Style::Pretty`] (`json`) or
    /// [`Style::Compact`] (`ndjson`). For views that write their own JSON text
    /// (an analysis report can be tens of megabytes); `write` writes the
    /// document without a newline, as serde_json does.
    pub fn document_with(&mut self, write: impl FnOnce(&mut dyn Write, Style) -> io::Result<()>) -> io::Result<()> {
        let style = if self.format == Format::Ndjson { Style::Compact } else { Style::Pretty };
        write(&mut self.w, style)?;
        self.w.write_all(b"\n")?;
        self.count += 1;
        self.document = true;
        self.w.flush()
    }

    /// Like [`Output::document`] for any serialisable view, without building
    /// a `Value` first.
    pub fn document_serialize<T: serde::Serialize>(&mut self, v: &T) -> io::Result<()> {
        self.document_with(|w, style| {
            match style {
                Style::Pretty => serde_json::to_writer_pretty(w, v)?,
                Style::Compact => serde_json::to_writer(w, v)?,
            }
            Ok(())
        })
    }

    /// Writes a single JSON document (for commands whose result is one
    /// object, e.g. a summary): pretty-printed, or on one line for NDJSON.
    pub fn document(&mut self, v: &serde_json::Value) -> io::Result<()> {
        self.document_serialize(v)
    }
}

/// A comfy-table set up the same way everywhere: rounded UTF-8 borders and
/// ANSI styling only when colour is on.
pub fn new_table(color: bool) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(u32);
    impl Record for R {
        fn to_json(&self) -> serde_json::Value {
            serde_json::json!({ "n": self.0 })
        }
        fn write_table(&self, w: &mut dyn Write, _color: bool) -> io::Result<()> {
            writeln!(w, "n={}", self.0)
        }
    }

    fn render(format: Format, n: u32) -> String {
        let mut o = Output::new(Vec::new(), format, false);
        for i in 0..n {
            o.record(&R(i)).unwrap();
        }
        o.finish().unwrap();
        String::from_utf8(o.w).unwrap()
    }

    #[test]
    fn json_is_one_document() {
        for n in 0..4 {
            let v: serde_json::Value = serde_json::from_str(&render(Format::Json, n)).unwrap();
            let arr = v.as_array().unwrap();
            assert_eq!(arr.len(), n as usize);
            for (i, x) in arr.iter().enumerate() {
                assert_eq!(x["n"], i as u64);
            }
        }
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let s = render(Format::Ndjson, 3);
        let lines: Vec<_> = s.lines().collect();
        assert_eq!(lines.len(), 3);
        for (i, l) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["n"], i as u64);
        }
        assert_eq!(render(Format::Ndjson, 0), "");
    }

    #[test]
    fn table_uses_the_record() {
        assert_eq!(render(Format::Table, 2), "n=0\nn=1\n");
    }

    #[test]
    fn color_choice() {
        assert!(ColorChoice::Always.enabled(false));
        assert!(!ColorChoice::Never.enabled(true));
        assert!(!ColorChoice::Auto.enabled(false));
    }
}
