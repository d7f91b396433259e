//! JSON text written by hand, byte for byte as serde_json writes it, for
//! documents too large to go through serde one token at a time (an analysis
//! report holds tens of thousands of processes: through serde_json's pretty
//! printer every key, indent and value is a separate write).
//!
//! A [`JsonText`] builds the text of a whole document in a buffer that the
//! caller hands to the writer now and then ([`JsonText::write_to_when_full`]),
//! in the layout [`Style`] chosen by the output format: pretty for `json`,
//! compact for `ndjson` ([`Output::document_with`](super::Output::document_with)).
//! Tests check the bytes against serde_json's for the same values.

use serde::Serialize;
use std::io::{self, Write};

/// How serde_json lays out a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `to_writer_pretty`: two-space indent, `": "` after keys.
    Pretty,
    /// `to_writer`: no whitespace.
    Compact,
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

/// Bytes a [`Fragment`] holds at most.
const FRAGMENT: usize = 64;

/// The text some calls on a [`JsonText`] wrote (separators, keys, brackets: no values), and
/// the state they left it in, to be written again in one copy where a writer is in the state
/// the recording one was in ([`JsonText::replay`]): the text depends on that state (layout,
/// depth, whether the container is empty) only.
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    text: [u8; FRAGMENT],
    len: usize,
    /// depth and `empty` before and after
    before: (usize, bool),
    after: (usize, bool),
}

/// Bytes of text a [`JsonText`] holds before [`JsonText::write_to_when_full`] hands them on.
const FULL: usize = 64 * 1024;

/// Moves the bytes of `from` to the end of `to`, leaving `from` empty: by swapping the two
/// vectors when `to` is empty (no copy; `from` keeps `to`'s allocation), else by a copy.
fn move_bytes(from: &mut Vec<u8>, to: &mut Vec<u8>) {
    if to.is_empty() {
        std::mem::swap(from, to);
    } else {
        to.extend_from_slice(from);
        from.clear();
    }
}

/// A JSON writer that lays text out as serde_json does, into a byte buffer.
///
/// Containers are opened and closed by the caller (`begin_object`, `key`,
/// `end_object`; `begin_array`, `element`, `end_array`); values are written
/// after a `key` or an `element`. The text goes to an [`io::Write`] in pieces
/// ([`JsonText::write_to`], between any two calls) so that a large document is
/// never held whole.
#[derive(Debug)]
pub struct JsonText {
    buf: Vec<u8>,
    pretty: bool,
    depth: usize,
    /// The innermost open container has no key or element yet. (Those around it
    /// all have one: the container being written is the value of their last.)
    empty: bool,
}

impl JsonText {
    /// A writer for one document in the layout `style`.
    pub fn new(style: Style) -> JsonText {
        JsonText { buf: Vec::with_capacity(FULL + 4096), pretty: style == Style::Pretty, depth: 0, empty: true }
    }

    /// Writes the text so far to `w` and empties the buffer; the document goes
    /// on where it stopped.
    pub fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Moves the text so far to the end of `into` and empties the buffer, as
    /// [`JsonText::write_to`] into a vector does; without a copy when `into` is empty (the
    /// buffers are swapped, and this writer goes on in `into`'s, made room for if small).
    pub fn hand_over(&mut self, into: &mut Vec<u8>) {
        move_bytes(&mut self.buf, into);
        self.buf.reserve(FULL + 4096);
    }

    /// Appends `text` (written by a [`JsonText::continuation`] of this writer's state) to the
    /// text so far, leaving `text` empty; without a copy when there is no text so far (the
    /// buffers are swapped).
    pub fn take_text(&mut self, text: &mut Vec<u8>) {
        move_bytes(text, &mut self.buf);
    }

    /// [`JsonText::write_to`] once the buffer holds 64 KiB or more (call it
    /// after each element of a long array).
    #[inline]
    pub fn write_to_when_full(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.buf.len() >= FULL {
            self.write_to(w)
        } else {
            Ok(())
        }
    }

    /// A writer for the text that follows this one's once it has written one or more
    /// elements (or keys) into the open container (same layout and depth, the container not
    /// empty): written elsewhere, e.g. on another thread, while this one goes on; its text is
    /// handed on after this one's (the caller keeps the order), and each writer's next
    /// element is preceded by its separator.
    pub fn continuation(&self) -> JsonText {
        JsonText { buf: Vec::with_capacity(FULL + 4096), pretty: self.pretty, depth: self.depth, empty: false }
    }

    /// What `calls` write from this writer's state, as a [`Fragment`] (`None` when longer
    /// than 64 bytes); this writer is left as it was.
    pub fn record(&self, calls: impl FnOnce(&mut JsonText)) -> Option<Fragment> {
        let mut t =
            JsonText { buf: Vec::with_capacity(FRAGMENT), pretty: self.pretty, depth: self.depth, empty: self.empty };
        calls(&mut t);
        let mut text = [0; FRAGMENT];
        text.get_mut(..t.buf.len())?.copy_from_slice(&t.buf);
        Some(Fragment { text, len: t.buf.len(), before: (self.depth, self.empty), after: (t.depth, t.empty) })
    }

    /// Writes `f` if this writer is in the state `f` was recorded in (and returns true), as the
    /// calls recorded would have.
    #[inline]
    pub fn replay(&mut self, f: &Fragment) -> bool {
        if (self.depth, self.empty) != f.before {
            return false;
        }
        let len = self.buf.len();
        self.buf.extend_from_slice(&f.text);
        self.buf.truncate(len + f.len);
        (self.depth, self.empty) = f.after;
        true
    }

    /// Writes what `calls` write: from one of `kept` recorded in this writer's state, else
    /// recorded now (and kept, in a free place or the first).
    #[inline]
    pub fn replay_or_record(&mut self, kept: &mut [Option<Fragment>], calls: impl Fn(&mut JsonText)) {
        if kept.iter().flatten().any(|f| self.replay(f)) {
            return;
        }
        let f = self.record(&calls);
        if let Some(place) = kept.iter().position(Option::is_none).or((!kept.is_empty()).then_some(0)) {
            kept[place] = f;
        }
        match f {
            // (recorded in this state: replayed)
            Some(f) => {
                self.replay(&f);
            }
            None => calls(self),
        }
    }

    /// The text still in the buffer.
    pub fn as_str(&self) -> &str {
        // Only UTF-8 text is ever appended (str slices, ASCII).
        std::str::from_utf8(&self.buf).unwrap_or_default()
    }

    /// The buffer, to append a value's text (e.g. with `ipfmt::push_*`).
    #[inline]
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// A newline (after a comma unless `first`) and the indent of the current depth.
    #[inline(always)]
    fn newline(&mut self, first: bool) {
        let n = 2 + 2 * self.depth - usize::from(first);
        if n < CHUNK {
            // fixed-size copy, then cut to the length
            let len = self.buf.len();
            self.buf.extend_from_slice(if first { &SEP_INDENT[1..=CHUNK] } else { &SEP_INDENT[..CHUNK] });
            self.buf.truncate(len + n);
        } else {
            self.newline_deep(first);
        }
    }

    #[cold]
    fn newline_deep(&mut self, first: bool) {
        let (from, n) = (usize::from(first), 2 + 2 * self.depth);
        if n <= SEP_INDENT.len() {
            self.buf.extend_from_slice(&SEP_INDENT[from..n]);
        } else {
            self.buf.extend_from_slice(&SEP_INDENT[from..2]);
            for _ in 0..self.depth {
                self.buf.extend_from_slice(b"  ");
            }
        }
    }

    /// The separator before a key or an element of the open container.
    #[inline(always)]
    fn separator(&mut self) {
        let first = std::mem::replace(&mut self.empty, false);
        if self.pretty {
            self.newline(first);
        } else if !first {
            self.buf.push(b',');
        }
    }

    #[inline]
    fn open(&mut self, c: u8) {
        self.buf.push(c);
        self.depth += 1;
        self.empty = true;
    }

    #[inline]
    fn close(&mut self, c: u8) {
        let had = !std::mem::replace(&mut self.empty, false);
        self.depth = self.depth.saturating_sub(1);
        if self.pretty && had {
            self.newline(true);
        }
        self.buf.push(c);
    }

    /// `{`
    #[inline]
    pub fn begin_object(&mut self) {
        self.open(b'{');
    }

    /// `}` (an empty object is `{}`).
    #[inline]
    pub fn end_object(&mut self) {
        self.close(b'}');
    }

    /// `[`
    #[inline]
    pub fn begin_array(&mut self) {
        self.open(b'[');
    }

    /// `]` (an empty array is `[]`).
    #[inline]
    pub fn end_array(&mut self) {
        self.close(b']');
    }

    /// The next element of the open array: write its value next.
    #[inline]
    pub fn element(&mut self) {
        self.separator();
    }

    /// A key of the open object (made at compile time, see [`Key`]): write its value next.
    #[inline(always)]
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
        push_string(&mut self.buf, s);
    }

    /// `"` — to write a string's text with `buf()` (no character may need
    /// escaping), closed with [`JsonText::quote`] again.
    #[inline]
    pub fn quote(&mut self) {
        self.buf.push(b'"');
    }

    /// An unsigned integer.
    #[inline]
    pub fn u64(&mut self, v: u64) {
        super::ipfmt::push_u64(&mut self.buf, v);
    }

    /// A float as serde_json writes it (shortest text that reads back the
    /// same; `null` for NaN and infinities).
    pub fn f64(&mut self, v: f64) {
        self.serde(&v);
    }

    /// `true` or `false`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// `null`
    #[inline]
    pub fn null(&mut self) {
        self.buf.extend_from_slice(b"null");
    }

    /// Any `serde_json::Value`, as serde_json writes it (object keys in the
    /// map's order).
    pub fn value(&mut self, v: &serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => self.serde(n),
            Value::String(s) => self.string(s),
            Value::Array(a) => {
                self.begin_array();
                for x in a {
                    self.element();
                    self.value(x);
                }
                self.end_array();
            }
            Value::Object(o) => {
                self.begin_object();
                for (k, x) in o {
                    self.key_escaped(k);
                    self.value(x);
                }
                self.end_object();
            }
        }
    }

    /// Any value through serde_json itself (a leaf: a number or a string).
    fn serde<T: Serialize + ?Sized>(&mut self, v: &T) {
        // Writing to a Vec cannot fail, and leaves serialise without error.
        let _ = serde_json::to_writer(&mut self.buf, v);
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub fn push_string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let start = out.len();
    out.push(b'"');
    let found = if b.len() < 8 {
        out.extend_from_slice(b);
        b.iter().any(|&c| needs_escape(c))
    } else {
        // Eight bytes at a time, tested and copied as one word (a copy of a fixed size is
        // a few moves, where one of a variable size is a call to `memcpy`); the last word
        // overlaps the one before it unless the length is a multiple of 8.
        let mut found = 0;
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            let w = [w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]];
            found |= escapes_in(u64::from_le_bytes(w));
            out.extend_from_slice(&w);
        }
        if !words.remainder().is_empty() {
            let t = &b[b.len() - 8..];
            let w = [t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]];
            found |= escapes_in(u64::from_le_bytes(w));
            out.truncate(start + 1 + b.len() - 8);
            out.extend_from_slice(&w);
        }
        found != 0
    };
    if found {
        out.truncate(start);
        // Writing to a Vec cannot fail, and a string serialises without error.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
    }
}

/// serde_json escapes `"`, `\` and the C0 controls only.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Non-zero when one of the 8 bytes in `x` is below 0x20, `"` or `\`: eight bytes tested
/// at once (the "has a zero byte" / "has a byte less than n" bit tricks; exact, not
/// approximate, for whether some byte matches).
#[inline]
fn escapes_in(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = x.wrapping_sub(ONES * 0x20);
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    (below_space | quote.wrapping_sub(ONES) | backslash.wrapping_sub(ONES)) & !x & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "a": [],
            "b": {},
            "c": [0, 1, u64::MAX, -1, i64::MIN, 2.5, -0.0, 1e300, 0.1, 123456789.125, null, true, false],
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
        let mut j = JsonText::new(Style::Pretty);
        j.value(&v);
        assert_eq!(j.as_str(), serde_json::to_string_pretty(&v).unwrap());
        let mut j = JsonText::new(Style::Compact);
        j.value(&v);
        assert_eq!(j.as_str(), serde_json::to_string(&v).unwrap());
    }

    /// Keys made at compile time, numbers and strings written by the typed
    /// calls give serde_json's text for the same values.
    #[test]
    fn typed_calls_are_serde_json_text() {
        let nums = [0, 1, 9, 10, 99, 100, 65535, 1 << 32, u64::MAX / 10, u64::MAX];
        let floats = [0.0, -0.0, 0.1, 1e-7, 1e21, 123.456, f64::MAX, f64::MIN_POSITIVE, f64::NAN, f64::INFINITY];
        let strs = ["", "plain", "a\"b", "\\", "\u{0}\u{1f}", "\u{7f}é🦀"];
        let want = json!({
            "n": nums,
            "x": floats.map(|x| serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)),
            "s": strs,
            "t": true,
            "f": false,
            "z": null,
            "an_exactly_28_byte_long_key_": {},
        });
        for (style, text) in [
            (Style::Pretty, serde_json::to_string_pretty(&want).unwrap()),
            (Style::Compact, serde_json::to_string(&want).unwrap()),
        ] {
            let mut j = JsonText::new(style);
            j.begin_object();
            j.key(&const { Key::new("n") });
            j.begin_array();
            for n in nums {
                j.element();
                j.u64(n);
            }
            j.end_array();
            j.key(&const { Key::new("x") });
            j.begin_array();
            for x in floats {
                j.element();
                j.f64(x);
            }
            j.end_array();
            j.key(&const { Key::new("s") });
            j.begin_array();
            for s in strs {
                j.element();
                j.string(s);
            }
            j.end_array();
            j.key(&const { Key::new("t") });
            j.bool(true);
            j.key(&const { Key::new("f") });
            j.bool(false);
            j.key(&const { Key::new("z") });
            j.null();
            j.key(&const { Key::new("an_exactly_28_byte_long_key_") });
            j.begin_object();
            j.end_object();
            j.end_object();
            assert_eq!(j.as_str(), text, "{style:?}");
        }
    }

    /// The eight-bytes-at-once test finds every byte serde_json escapes, at every position,
    /// next to any other byte (a borrow from a lower byte must not hide or fake one); and
    /// strings of every length around the word size, with such a byte anywhere, are
    /// serde_json's text.
    #[test]
    fn escapes_found_at_every_place() {
        let fill = [b'a', b' ', b'!', b'#', b'[', b']', b'"', b'\\', 0x7f, 0x80, 0xff, 0x21, 0x1f, 0x00];
        for pos in 0..8 {
            for &f in &fill {
                for b in 0..=255u8 {
                    let mut w = [f; 8];
                    w[pos] = b;
                    let want = w.iter().any(|&c| needs_escape(c));
                    assert_eq!(escapes_in(u64::from_le_bytes(w)) != 0, want, "{w:?}");
                }
            }
        }
        let special = ["\"", "\\", "\u{0}", "\u{1f}", " ", "\u{7f}", "é", "🦀", "x"];
        for len in 0..=25 {
            for pos in 0..len {
                for sp in special {
                    for fill in ["a", "~"] {
                        let s = fill.repeat(pos) + sp + &fill.repeat(len - pos - 1);
                        let mut j = JsonText::new(Style::Compact);
                        j.string(&s);
                        assert_eq!(j.as_str(), serde_json::to_string(&s).unwrap(), "{s:?}");
                    }
                }
            }
        }
    }

    /// Recorded calls replayed give the text and state of the calls themselves, in any
    /// state, in both layouts; a fragment recorded in another state is not replayed.
    #[test]
    fn fragments_are_the_calls_text() {
        let k = const { Key::new("step") };
        let calls = |j: &mut JsonText| {
            j.element();
            j.begin_object();
            j.key(&k);
        };
        for style in [Style::Pretty, Style::Compact] {
            let (mut direct, mut replayed) = (JsonText::new(style), JsonText::new(style));
            // one place for the element's fragment: recorded again at each change of state
            let mut kept = [None];
            let mut other = [None, None];
            for depth in [0, 1, 2, 2, 3, 40, 1] {
                for j in [&mut direct, &mut replayed] {
                    j.begin_object();
                    j.key(&k);
                    for _ in 0..depth {
                        j.begin_array();
                    }
                }
                for i in 0..3 {
                    calls(&mut direct);
                    direct.u64(i);
                    direct.end_object();
                    replayed.replay_or_record(&mut kept, calls);
                    replayed.u64(i);
                    replayed.replay_or_record(&mut other, |j| j.end_object());
                }
                for j in [&mut direct, &mut replayed] {
                    for _ in 0..depth {
                        j.end_array();
                    }
                    j.end_object();
                }
                assert_eq!(replayed.as_str(), direct.as_str(), "{style:?} {depth}");
                assert_eq!((replayed.depth, replayed.empty), (direct.depth, direct.empty));
            }
            let f = direct.record(calls).unwrap();
            direct.begin_array();
            let before = direct.as_str().len();
            assert!(!direct.replay(&f));
            assert_eq!(direct.as_str().len(), before);
            assert!(direct.record(|j| j.string(&"x".repeat(70))).is_none());
        }
    }

    /// A writer that records how many pieces it was handed.
    struct Pieces(Vec<u8>, usize);
    impl Write for Pieces {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(b);
            self.1 += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Text handed to the writer in pieces, between any two calls, makes up
    /// the same document; a long array goes out in 64 KiB pieces.
    #[test]
    fn written_in_pieces() {
        let v = sample();
        let big: Vec<serde_json::Value> = (0..5000).map(|i| json!({"i": i, "v": &v["c"]})).collect();
        let doc = json!({"big": big, "sample": v});
        for (style, text) in [
            (Style::Pretty, serde_json::to_string_pretty(&doc).unwrap()),
            (Style::Compact, serde_json::to_string(&doc).unwrap()),
        ] {
            for every in [false, true] {
                let mut w = Pieces(Vec::new(), 0);
                let mut j = JsonText::new(style);
                j.begin_object();
                j.key(&const { Key::new("big") });
                j.begin_array();
                for x in &big {
                    j.element();
                    if every {
                        j.write_to(&mut w).unwrap();
                    }
                    j.value(x);
                    j.write_to_when_full(&mut w).unwrap();
                    assert!(j.as_str().len() < FULL + 1000);
                }
                j.end_array();
                j.key(&const { Key::new("sample") });
                j.value(&doc["sample"]);
                j.end_object();
                j.write_to(&mut w).unwrap();
                assert_eq!(j.as_str(), "");
                assert_eq!(String::from_utf8(w.0).unwrap(), text, "{style:?} {every}");
                if every {
                    assert!(w.1 >= big.len(), "{}", w.1);
                } else {
                    // each piece but the last is 64 KiB or more
                    assert!(w.1 >= 2 && w.1 <= text.len() / FULL + 1, "{} {}", w.1, text.len());
                }
            }
        }
    }
}
