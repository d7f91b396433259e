//! JSON text written by hand, byte for byte as serde_json writes it, for
//! documents too large to go through serde one token at a time (an analysis
//! report holds tens of thousands of processes: through serde_json's pretty
//! printer every key, indent and value is a separate write).
//!
//! [`Output::document_serialize`](super::Output::document_serialize) says
//! which layout the document is written in ([`style`]: pretty for `json`,
//! compact for `ndjson`); a large view checks it in its `Serialize` impl and,
//! when set, hands serde_json [`Raw`] text made with a [`JsonText`] instead of
//! a tree of values. Anywhere else (`serde_json::to_value`, any other
//! serializer) `style()` is `None` and the view serialises value by value as
//! usual; tests check that both give the same bytes.

use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::cell::Cell;

/// How serde_json lays out the document being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `to_writer_pretty`: two-space indent, `": "` after keys.
    Pretty,
    /// `to_writer`: no whitespace.
    Compact,
}

thread_local! {
    static STYLE: Cell<Option<Style>> = const { Cell::new(None) };
}

/// The layout of the document being written on this thread by
/// `Output::document_serialize`, if any.
pub fn style() -> Option<Style> {
    STYLE.with(Cell::get)
}

/// Runs `f` with [`style`] returning `style` (restored afterwards, even on a
/// panic).
pub fn with_style<R>(style: Style, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Style>);
    impl Drop for Restore {
        fn drop(&mut self) {
            STYLE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(STYLE.with(|s| s.replace(Some(style))));
    f()
}

/// Text that serde_json writes as it is, without quoting or checking it
/// (serde_json's `RawValue` protocol, feature `raw_value`: a struct and field
/// of this name). The text must be valid JSON laid out as the surrounding
/// document is, at the depth where it goes.
pub struct Raw<'a>(pub &'a str);

/// serde_json's name for raw text (`serde_json::value::RawValue`).
const RAW_TOKEN: &str = "$serde_json::private::RawValue";

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct(RAW_TOKEN, 1)?;
        st.serialize_field(RAW_TOKEN, self.0)?;
        st.end()
    }
}

/// `,`, a newline and two spaces per level (serde_json's `PrettyFormatter`): the text before a
/// key or an element is a slice of it.
const SEP_INDENT: &[u8; 66] = b",\n                                                                ";

/// Bytes copied at once for a key or an indent: a copy of a fixed size is a few moves, where
/// a copy of a variable size is a call to `memcpy` (a report writes about a million keys).
const CHUNK: usize = 32;

/// An object key as JSON text, `"name": `, made at compile time: `&const { Key::new("name") }`.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    text: [u8; CHUNK],
    len: usize,
}

impl Key {
    /// The key `name` (at most 28 bytes; nothing that JSON escapes: checked at compile time in
    /// a `const` block).
    pub const fn new(name: &str) -> Key {
        let b = name.as_bytes();
        assert!(b.len() + 4 <= CHUNK, "key too long");
        let mut text = [b' '; CHUNK];
        text[0] = b'"';
        let mut i = 0;
        while i < b.len() {
            assert!(b[i] >= 0x20 && b[i] != b'"' && b[i] != b'\\', "key needs escaping");
            text[i + 1] = b[i];
            i += 1;
        }
        text[i + 1] = b'"';
        text[i + 2] = b':';
        Key { text, len: b.len() + 4 }
    }
}

/// A JSON writer that lays text out as serde_json does, into a byte buffer.
///
/// Containers are opened and closed by the caller (`begin_object`, `key`,
/// `end_object`; `begin_array`, `element`, `end_array`); values are written
/// after a `key` or an `element`.
#[derive(Debug)]
pub struct JsonText {
    buf: Vec<u8>,
    pretty: bool,
    base: usize,
    depth: usize,
    /// For each open container, innermost last: whether it has a value yet.
    has_value: Vec<bool>,
}

impl JsonText {
    /// A writer for values that start at nesting `depth` (0 for a document,
    /// 1 for the value of a top-level key, 2 for an element of it).
    pub fn new(style: Style, depth: usize) -> JsonText {
        JsonText {
            buf: Vec::with_capacity(4096),
            pretty: style == Style::Pretty,
            base: depth,
            depth,
            has_value: Vec::with_capacity(8),
        }
    }

    /// Empties the buffer to write the next value at the starting depth.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.depth = self.base;
        self.has_value.clear();
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        // Only UTF-8 text is ever appended (str slices, ASCII).
        std::str::from_utf8(&self.buf).unwrap_or_default()
    }

    /// The buffer, to append a value's text (e.g. with `ipfmt::push_*`).
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// A newline (after a comma unless `first`) and the indent of the current depth.
    fn newline(&mut self, first: bool) {
        let n = 2 + 2 * self.depth;
        let from = usize::from(first);
        if n <= CHUNK {
            let len = self.buf.len();
            self.buf.extend_from_slice(&SEP_INDENT[from..from + CHUNK]);
            self.buf.truncate(len + n - from);
        } else if n <= SEP_INDENT.len() {
            self.buf.extend_from_slice(&SEP_INDENT[from..n]);
        } else {
            self.buf.extend_from_slice(&SEP_INDENT[usize::from(first)..2]);
            for _ in 0..self.depth {
                self.buf.extend_from_slice(b"  ");
            }
        }
    }

    /// The separator before a key or an element of the open container.
    fn separator(&mut self) {
        let first = match self.has_value.last_mut() {
            Some(h) => !std::mem::replace(h, true),
            None => true,
        };
        if self.pretty {
            self.newline(first);
        } else if !first {
            self.buf.push(b',');
        }
    }

    fn open(&mut self, c: u8) {
        self.buf.push(c);
        self.depth += 1;
        self.has_value.push(false);
    }

    fn close(&mut self, c: u8) {
        let had = self.has_value.pop().unwrap_or(false);
        self.depth = self.depth.saturating_sub(1);
        if self.pretty && had {
            self.newline(true);
        }
        self.buf.push(c);
    }

    /// `{`
    pub fn begin_object(&mut self) {
        self.open(b'{');
    }

    /// `}` (an empty object is `{}`).
    pub fn end_object(&mut self) {
        self.close(b'}');
    }

    /// `[`
    pub fn begin_array(&mut self) {
        self.open(b'[');
    }

    /// `]` (an empty array is `[]`).
    pub fn end_array(&mut self) {
        self.close(b']');
    }

    /// The next element of the open array: write its value next.
    pub fn element(&mut self) {
        self.separator();
    }

    /// A key of the open object (made at compile time, see [`Key`]): write its value next.
    pub fn key(&mut self, k: &Key) {
        self.separator();
        let len = self.buf.len();
        self.buf.extend_from_slice(&k.text);
        // pretty: `"name": `, compact: `"name":`
        self.buf.truncate(len + k.len - usize::from(!self.pretty));
    }

    /// A key of the open object, escaped as needed.
    pub fn key_escaped(&mut self, k: &str) {
        self.separator();
        self.string(k);
        self.buf.extend_from_slice(if self.pretty { b": " } else { b":" });
    }

    /// A string, escaped as serde_json escapes it.
    pub fn string(&mut self, s: &str) {
        if !needs_escape(s) {
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
        } else {
            self.serde(s);
        }
    }

    /// `"` — to write a string's text with `buf()` (no character may need
    /// escaping), closed with [`JsonText::quote`] again.
    pub fn quote(&mut self) {
        self.buf.push(b'"');
    }

    /// An unsigned integer.
    pub fn u64(&mut self, v: u64) {
        super::ipfmt::push_u64(&mut self.buf, v);
    }

    /// A float as serde_json writes it (shortest text that reads back the
    /// same; `null` for NaN and infinities).
    pub fn f64(&mut self, v: f64) {
        self.serde(&v);
    }

    /// `true` or `false`.
    pub fn bool(&mut self, v: bool) {
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// `null`
    pub fn null(&mut self) {
        self.buf.extend_from_slice(b"null");
    }

    /// Any value through serde_json itself (a leaf: a number or a string).
    fn serde<T: Serialize + ?Sized>(&mut self, v: &T) {
        // Writing to a Vec cannot fail, and leaves serialise without error.
        let _ = serde_json::to_writer(&mut self.buf, v);
    }
}

/// serde_json escapes `"`, `\` and the C0 controls only.
#[inline]
fn needs_escape(s: &str) -> bool {
    !s.bytes().fold(true, |ok, b| ok & (b >= 0x20 && b != b'"' && b != b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes `v` with `JsonText` (a generic walk of the value).
    fn write(j: &mut JsonText, v: &serde_json::Value) {
        match v {
            serde_json::Value::Null => j.null(),
            serde_json::Value::Bool(b) => j.bool(*b),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(u) => j.u64(u),
                None => j.f64(n.as_f64().unwrap()),
            },
            serde_json::Value::String(s) => j.string(s),
            serde_json::Value::Array(a) => {
                j.begin_array();
                for x in a {
                    j.element();
                    write(j, x);
                }
                j.end_array();
            }
            serde_json::Value::Object(o) => {
                j.begin_object();
                for (k, x) in o {
                    j.key_escaped(k);
                    write(j, x);
                }
                j.end_object();
            }
        }
    }

    fn sample() -> serde_json::Value {
        json!({
            "a": [],
            "b": {},
            "c": [1, 2.5, -0.0, 1e300, 0.1, 123456789.125, null, true, false],
            "d": {"x": {"y": [[], [{}], [[1]]]}, "e": "quote \" backslash \\ tab \t nl \n ctl \u{1} del \u{7f} § é 🦀"},
            "key \"escaped\"": "",
            "deep": deep(40)
        })
    }

    /// Arrays nested `n` deep, an object at the bottom.
    fn deep(n: usize) -> serde_json::Value {
        (0..n).fold(json!({"k": [1, {"z": null}]}), |v, _| json!([v, 2]))
    }

    #[test]
    fn same_bytes_as_serde_json_in_both_layouts() {
        let v = sample();
        let mut j = JsonText::new(Style::Pretty, 0);
        write(&mut j, &v);
        assert_eq!(j.as_str(), serde_json::to_string_pretty(&v).unwrap());
        let mut j = JsonText::new(Style::Compact, 0);
        write(&mut j, &v);
        assert_eq!(j.as_str(), serde_json::to_string(&v).unwrap());
        j.clear();
        assert_eq!(j.as_str(), "");
    }

    /// Raw text at depth 1 and 2 (as the report writes it) in a serde_json
    /// document gives the document serde_json writes from the values.
    #[test]
    fn raw_pieces_inside_a_serde_json_document() {
        struct Doc<'a>(&'a serde_json::Value, Style);
        impl Serialize for Doc<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                struct Elems<'a>(&'a [serde_json::Value], Style);
                impl Serialize for Elems<'_> {
                    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        use serde::ser::SerializeSeq;
                        let mut seq = s.serialize_seq(Some(self.0.len()))?;
                        let mut j = JsonText::new(self.1, 2);
                        for x in self.0 {
                            j.clear();
                            write(&mut j, x);
                            seq.serialize_element(&Raw(j.as_str()))?;
                        }
                        seq.end()
                    }
                }
                let o = self.0.as_object().unwrap();
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, x) in o {
                    match x.as_array() {
                        Some(a) => m.serialize_entry(k, &Elems(a, self.1))?,
                        None => {
                            let mut j = JsonText::new(self.1, 1);
                            write(&mut j, x);
                            m.serialize_entry(k, &Raw(j.as_str()))?;
                        }
                    }
                }
                m.end()
            }
        }
        let v = sample();
        assert_eq!(
            serde_json::to_string_pretty(&Doc(&v, Style::Pretty)).unwrap(),
            serde_json::to_string_pretty(&v).unwrap()
        );
        assert_eq!(serde_json::to_string(&Doc(&v, Style::Compact)).unwrap(), serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn style_is_set_only_inside() {
        assert_eq!(style(), None);
        let inner = with_style(Style::Compact, || (style(), with_style(Style::Pretty, style), style()));
        assert_eq!(inner, (Some(Style::Compact), Some(Style::Pretty), Some(Style::Compact)));
        assert_eq!(style(), None);
        let r = std::panic::catch_unwind(|| with_style(Style::Pretty, || panic!("boom")));
        assert!(r.is_err());
        assert_eq!(style(), None);
    }
}
