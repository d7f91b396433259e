//! A table drawn exactly as [`new_table`](super::new_table) draws it
//! (comfy-table, UTF-8 borders with round corners, no wrapping, no styles),
//! for tables of tens of thousands of rows: cells are written into one
//! buffer, widths measured once, and each line written straight out, where
//! comfy-table makes a `String` per cell, per padded cell and per line. A
//! table with a multi-line cell is handed to comfy-table itself.

use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// Rows of cells under a header, drawn as `new_table(color)` with the same
/// header and rows would draw them (`Display`, without a final newline).
#[derive(Debug)]
pub struct TextTable {
    header: Vec<&'static str>,
    color: bool,
    /// The text of every cell, row after row.
    text: Vec<u8>,
    /// Where each cell's text ends in `text`.
    ends: Vec<usize>,
}

/// Borders and separators of `UTF8_FULL_CONDENSED` with `UTF8_ROUND_CORNERS`.
const TOP: (&str, &str, &str, &str) = ("╭", "─", "┬", "╮");
const HEADER_SEP: (&str, &str, &str, &str) = ("╞", "═", "╪", "╡");
const BOTTOM: (&str, &str, &str, &str) = ("╰", "─", "┴", "╯");
const BORDER: &str = "│";
const COLUMN_SEP: &str = "┆";

const SPACES: &[u8; 64] = b"                                                                ";

fn push_spaces(out: &mut Vec<u8>, mut n: usize) {
    // a copy of a fixed size is a few moves, one of a variable size a library call
    if n <= 32 {
        let len = out.len();
        out.extend_from_slice(&SPACES[..32]);
        out.truncate(len + n);
        return;
    }
    while n > SPACES.len() {
        out.extend_from_slice(SPACES);
        n -= SPACES.len();
    }
    out.extend_from_slice(&SPACES[..n]);
}

/// The display width comfy-table gives one line of text (`unicode-width`),
/// with printable ASCII counted without the tables.
fn width(s: &str) -> usize {
    if s.bytes().fold(true, |ok, b| ok & (0x20..0x7f).contains(&b)) {
        s.len()
    } else {
        s.width()
    }
}

impl TextTable {
    /// An empty table with this header.
    pub fn new(header: &[&'static str], color: bool) -> TextTable {
        TextTable { header: header.to_vec(), color, text: Vec::with_capacity(64 * 1024), ends: Vec::new() }
    }

    /// The buffer to append the current cell's text to (UTF-8), then [`TextTable::end_cell`].
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.text
    }

    /// Ends the current cell (rows are the header's width of cells each).
    pub fn end_cell(&mut self) {
        self.ends.push(self.text.len());
    }

    /// A whole cell.
    pub fn cell(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
        self.end_cell();
    }

    /// Rows so far (complete or not).
    pub fn rows(&self) -> usize {
        self.ends.len().div_ceil(self.header.len().max(1))
    }

    /// The cells' text (checked once: cells are appended as UTF-8 text).
    fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        let text = std::str::from_utf8(&self.text).unwrap_or_default();
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter()).map(move |(a, &b)| text.get(a..b).unwrap_or_default())
    }

    /// Draws the table (no newline after the last line).
    pub fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        Self::write_joined(&[self], w)
    }

    /// Draws the rows of `parts`, one after the other, as one table under the first part's
    /// header (all parts have the same header and colour): the parts may have been filled on
    /// different threads. No newline after the last line; nothing for no parts.
    pub fn write_joined(parts: &[&TextTable], w: &mut dyn Write) -> io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        let ncol = first.header.len();
        if ncol == 0 || parts.iter().any(|p| p.ends.len() % ncol != 0 || p.header != first.header) {
            return Self::write_comfy(parts, w);
        }
        // Widths in a first pass over the cells, measured again as they are drawn: cheaper
        // than keeping every cell and its width (tens of thousands of rows).
        let mut widths: Vec<usize> = first.header.iter().map(|h| width(h)).collect();
        for p in parts {
            for (i, c) in p.cells().enumerate() {
                if c.contains('\n') {
                    return Self::write_comfy(parts, w);
                }
                let col = &mut widths[i % ncol];
                *col = (*col).max(width(c));
            }
        }
        // comfy-table keeps widths in a u16, and a column at least 1 wide
        if widths.iter().any(|&x| x > usize::from(u16::MAX) - 2) {
            return Self::write_comfy(parts, w);
        }
        for x in &mut widths {
            *x = (*x).max(1);
        }
        let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
        let rule = |out: &mut Vec<u8>, (left, line, cross, right): (&str, &str, &str, &str)| {
            out.extend_from_slice(left.as_bytes());
            for (i, &x) in widths.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(cross.as_bytes());
                }
                for _ in 0..x + 2 {
                    out.extend_from_slice(line.as_bytes());
                }
            }
            out.extend_from_slice(right.as_bytes());
        };
        let row = |out: &mut Vec<u8>, cells: &mut dyn Iterator<Item = &str>| {
            out.extend_from_slice(BORDER.as_bytes());
            for (i, c) in cells.enumerate() {
                if i > 0 {
                    out.extend_from_slice(COLUMN_SEP.as_bytes());
                }
                out.push(b' ');
                out.extend_from_slice(c.as_bytes());
                push_spaces(out, widths[i] - width(c) + 1);
            }
            out.extend_from_slice(BORDER.as_bytes());
        };
        rule(&mut out, TOP);
        out.push(b'\n');
        row(&mut out, &mut first.header.iter().copied());
        out.push(b'\n');
        rule(&mut out, HEADER_SEP);
        for p in parts {
            let mut cells = p.cells();
            for _ in 0..p.ends.len() / ncol {
                out.push(b'\n');
                row(&mut out, &mut cells.by_ref().take(ncol));
                if out.len() >= 60 * 1024 {
                    w.write_all(&out)?;
                    out.clear();
                }
            }
        }
        out.push(b'\n');
        rule(&mut out, BOTTOM);
        w.write_all(&out)
    }

    /// The same table through comfy-table.
    fn write_comfy(parts: &[&TextTable], w: &mut dyn Write) -> io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        let mut t = super::new_table(first.color);
        t.set_header(first.header.clone());
        for p in parts {
            let cells: Vec<&str> = p.cells().collect();
            for r in cells.chunks(first.header.len().max(1)) {
                t.add_row(r.to_vec());
            }
        }
        write!(w, "{t}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(header: &[&'static str], rows: &[Vec<&str>], color: bool) -> (String, String) {
        let mut t = TextTable::new(header, color);
        let mut c = super::super::new_table(color);
        c.set_header(header.to_vec());
        for r in rows {
            for x in r {
                t.cell(x);
            }
            c.add_row(r.clone());
        }
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        (String::from_utf8(out).unwrap(), c.to_string())
    }

    #[test]
    fn draws_what_comfy_table_draws() {
        let cells = [
            "",
            "a",
            "2001:0:c000:201:8000:356e:39cc:9be1 (from RA)",
            "198.51.100.30:51857",
            "… (3 more)",
            "RFC 4380 §5.2.1",
            "→ ←",
            "漢字 wide",
            "🦀 emoji",
            "e\u{301} combining",
            "tab\there",
            "ctl \u{1}\u{7f}",
            "zero\u{200b}width",
            &"x".repeat(300),
        ];
        let header: &[&'static str] = &["one", "two columns", "§", "x"];
        for color in [false, true] {
            // no rows
            let (a, b) = both(header, &[], color);
            assert_eq!(a, b);
            // every cell in every column, with short and empty neighbours
            let mut rows = Vec::new();
            for (i, c) in cells.iter().enumerate() {
                let mut r = vec![*c, cells[(i + 1) % cells.len()], "", "b"];
                r.rotate_left(i % 4);
                rows.push(r);
            }
            let (a, b) = both(header, &rows, color);
            assert_eq!(a, b);
            // a multi-line cell: comfy-table's own drawing
            rows.push(vec!["line\nbreak", "", "x", "y"]);
            let (a, b) = both(header, &rows, color);
            assert_eq!(a, b);
        }
    }

    /// Parts filled separately draw the table of all their rows, wherever they are split
    /// (the widest cell in either part), and as comfy-table with a multi-line cell in one.
    #[test]
    fn parts_draw_one_table() {
        let rows: Vec<Vec<&str>> = (0..40)
            .map(|i| vec![["a", "wide cell here", "漢字", ""][i % 4], ["2001:db8::1", "x"][i % 2], "z"])
            .collect();
        let header: &[&'static str] = &["one", "two", "three"];
        for color in [false, true] {
            for broken in [false, true] {
                let mut rows = rows.clone();
                if broken {
                    rows[33][1] = "line\nbreak";
                }
                let (want, comfy) = both(header, &rows, color);
                assert_eq!(want, comfy);
                for split in [0, 1, 13, 39, 40] {
                    let mut a = TextTable::new(header, color);
                    let mut b = TextTable::new(header, color);
                    for (i, r) in rows.iter().enumerate() {
                        for x in r {
                            if i < split {
                                a.cell(x)
                            } else {
                                b.cell(x)
                            }
                        }
                    }
                    let mut out = Vec::new();
                    TextTable::write_joined(&[&a, &b], &mut out).unwrap();
                    assert_eq!(String::from_utf8(out).unwrap(), want, "{color} {broken} {split}");
                }
            }
        }
    }

    #[test]
    fn large_tables_flush_in_pieces() {
        let rows: Vec<Vec<&str>> =
            (0..5000).map(|i| vec![if i % 7 == 0 { "seven" } else { "x" }, "2001:db8::1"]).collect();
        let (a, b) = both(&["a", "b"], &rows, false);
        assert_eq!(a, b);
    }
}
