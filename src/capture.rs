//! Capture files in, capture files out: classic pcap and pcapng, optionally gzip-compressed.
//!
//! [`CaptureReader`] streams the frames of a capture file through one bounded buffer and
//! yields each as a [`Frame`] that borrows that buffer (a lending iterator): no allocation
//! per packet, memory independent of the capture's size. It understands
//!
//! * classic pcap, µs (`a1b2c3d4`) and ns (`a1b23c4d`) magic, both byte orders;
//! * pcapng: several sections and interfaces, each interface with its own link type and
//!   `if_tsresol` (powers of 10 and of 2) and `if_tsoffset`; Enhanced, Simple and the
//!   obsolete Packet blocks; other blocks are skipped; both byte orders, per section;
//! * either of them gzip-compressed (magic `1f 8b`), decompressed on the fly.
//!
//! Errors ([`CaptureError`]) name the file, the frame number and the byte offset (in the
//! decompressed stream), and tell a truncated record from a malformed one. A record header
//! claiming more than [`MAX_CAPLEN`] bytes (pcap) or [`MAX_BLOCK_LEN`] bytes (pcapng) is an
//! error before anything is allocated for it. After an error the reader yields nothing more.
//!
//! [`CaptureWriter`] writes classic pcap or pcapng (chosen by the file name extension).
//!
//! ```
//! use teredo_tool::capture::{CaptureFormat, CaptureReader, CaptureWriter, TsPrecision};
//! let mut w = CaptureWriter::new(Vec::new(), "mem", CaptureFormat::Pcap,
//!                                TsPrecision::Micro).unwrap();
//! w.write_frame(1_700_000_000, 5_000, 101, 4, &[0x45, 0, 0, 4]).unwrap();
//! let bytes = w.into_inner().unwrap();
//! let mut r = CaptureReader::new(&bytes[..], "mem").unwrap();
//! let f = r.next_frame().unwrap().unwrap();
//! assert_eq!((f.number, f.linktype, f.ts_nsec, f.data), (1, 101, 5_000, &[0x45, 0, 0, 4][..]));
//! assert!(r.next_frame().is_none());
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Chain, Cursor, Read, Write};

use flate2::read::MultiGzDecoder;

/// LINKTYPE_NULL: BSD loopback, 4-byte address family in the writer's byte order.
pub const LINKTYPE_NULL: u32 = 0;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW: raw IPv4 or IPv6, told apart by the version nibble.
pub const LINKTYPE_RAW: u32 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, 4-byte address family in network byte order.
pub const LINKTYPE_LOOP: u32 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture v1.
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// LINKTYPE_IPV4: raw IPv4.
pub const LINKTYPE_IPV4: u32 = 228;
/// LINKTYPE_IPV6: raw IPv6 (what `--decap` writes).
pub const LINKTYPE_IPV6: u32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture v2.
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Largest captured length accepted in a classic pcap record: libpcap's MAXIMUM_SNAPLEN
/// (256 KiB), or the file's own snaplen when that is larger (up to [`MAX_BLOCK_LEN`]).
pub const MAX_CAPLEN: u32 = 262_144;
/// Largest pcapng block that is buffered (header, interface or packet blocks); other
/// blocks are skipped without buffering whatever their length.
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;
/// Size of the read buffer; it grows only for a record larger than this.
pub const READ_BUFFER: usize = 256 * 1024;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;

/// Timestamp resolution of a frame, as the file declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsPrecision {
    /// Microseconds (pcap magic `a1b2c3d4`, pcapng default `if_tsresol` 6).
    Micro,
    /// Nanoseconds (pcap magic `a1b23c4d`, pcapng `if_tsresol` 9).
    Nano,
    /// Any other pcapng `if_tsresol` byte: high bit clear = 10^-n s, set = 2^-n s.
    Other(u8),
}

impl TsPrecision {
    /// From a pcapng `if_tsresol` option value.
    pub fn from_if_tsresol(v: u8) -> Self {
        match v {
            6 => TsPrecision::Micro,
            9 => TsPrecision::Nano,
            v => TsPrecision::Other(v),
        }
    }

    /// The pcapng `if_tsresol` option value.
    pub fn if_tsresol(self) -> u8 {
        match self {
            TsPrecision::Micro => 6,
            TsPrecision::Nano => 9,
            TsPrecision::Other(v) => v,
        }
    }

    /// Timestamp units per second, or `None` when that does not fit in 64 bits.
    pub fn units_per_second(self) -> Option<u64> {
        let v = self.if_tsresol();
        if v & 0x80 != 0 {
            1u64.checked_shl(u32::from(v & 0x7f))
        } else {
            10u64.checked_pow(u32::from(v))
        }
    }

    /// How many decimal digits of the fractional second are meaningful (at most 9,
    /// since frames carry nanoseconds).
    pub fn decimal_digits(self) -> u8 {
        let v = self.if_tsresol();
        let d = if v & 0x80 != 0 {
            // 2^-n s needs ceil(n * log10(2)) digits.
            ((u32::from(v & 0x7f) * 30103).div_ceil(100_000)) as u8
        } else {
            v
        };
        d.min(9)
    }

    /// True when this resolution is finer than a microsecond.
    pub fn finer_than_micro(self) -> bool {
        self.units_per_second().is_none_or(|u| u > 1_000_000)
    }
}

impl fmt::Display for TsPrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsPrecision::Micro => f.write_str("µs"),
            TsPrecision::Nano => f.write_str("ns"),
            TsPrecision::Other(v) if v & 0x80 != 0 => write!(f, "2^-{} s", v & 0x7f),
            TsPrecision::Other(v) => write!(f, "10^-{v} s"),
        }
    }
}

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    Pcapng,
}

impl CaptureFormat {
    /// `.pcapng` (also `.pcapng.gz`, `.ntar`) means pcapng; anything else classic pcap.
    pub fn from_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
        if stem.ends_with(".pcapng") || stem.ends_with(".ntar") {
            CaptureFormat::Pcapng
        } else {
            CaptureFormat::Pcap
        }
    }
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        })
    }
}

/// One captured frame, borrowing the reader's buffer until the next call to
/// [`CaptureReader::next_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// 1-based number of the frame in its file (packet records only).
    pub number: u64,
    /// Seconds since the Unix epoch (pcapng `if_tsoffset` applied).
    pub ts_sec: i64,
    /// Nanoseconds within the second (converted from the file's resolution).
    pub ts_nsec: u32,
    /// The resolution the file recorded the timestamp in.
    pub ts_precision: TsPrecision,
    /// LINKTYPE_ value of the frame's interface.
    pub linktype: u32,
    /// pcapng interface id within its section (0 for classic pcap).
    pub interface_id: u32,
    /// Captured length (`data.len()`).
    pub caplen: u32,
    /// Length of the packet on the wire.
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Byte offset of the record (pcap) or block (pcapng) header in the decompressed stream.
    pub file_offset: u64,
}

/// Frames read in bulk by [`CaptureReader::next_batch`]: a buffer of records and where each
/// frame is in it. Owned, so it can be sent to another thread.
#[derive(Debug, Default)]
pub struct FrameBatch {
    data: Vec<u8>,
    frames: Vec<BatchFrame>,
}

/// A frame's number and record fields in a [`FrameBatch`].
#[derive(Debug, Clone, Copy)]
struct BatchFrame {
    number: u64,
    meta: Meta,
}

impl FrameBatch {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Frame `i` (0-based within the batch); panics when `i >= len()`.
    pub fn frame(&self, i: usize) -> Frame<'_> {
        let h = &self.frames[i];
        h.meta.frame(h.number, &self.data)
    }

    /// The frames in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Frame<'_>> + '_ {
        (0..self.frames.len()).map(|i| self.frame(i))
    }
}

/// An interface seen in the capture (classic pcap has exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// 0-based pcapng section index (0 for classic pcap).
    pub section: u32,
    /// Interface id within the section.
    pub interface_id: u32,
    /// LINKTYPE_ value.
    pub linktype: u32,
    /// Snapshot length declared for the interface (0 = unlimited).
    pub snaplen: u32,
    /// Timestamp resolution.
    pub ts_precision: TsPrecision,
    /// `if_name` option, when present.
    pub name: Option<String>,
    /// Frames read so far from this interface.
    pub frames: u64,
}

/// Everything that can go wrong reading or writing a capture; every message is one line
/// naming the file and, for records, the frame number and byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file does not exist.
    #[error("{file}: no such file")]
    NotFound { file: String },
    /// The path is a directory.
    #[error("{file}: is a directory, not a capture file")]
    IsDirectory { file: String },
    /// The file cannot be opened for lack of permission.
    #[error("{file}: permission denied")]
    PermissionDenied { file: String },
    /// Neither pcap nor pcapng (nor gzip of either): `found` says what is there.
    #[error("{file}: not a capture file: {found}")]
    NotCapture { file: String, found: String },
    /// The file header (pcap global header, first pcapng block) is cut short.
    #[error("{file}: truncated {format} file header: needs {needed} bytes, the file has {available}")]
    TruncatedFileHeader { file: String, format: CaptureFormat, needed: u64, available: u64 },
    /// A record or block header is cut short; every earlier frame was yielded.
    #[error("{file}: truncated {record} header at frame {frame}, byte offset {offset}: needs {needed} bytes, {available} left")]
    TruncatedHeader { file: String, record: &'static str, frame: u64, offset: u64, needed: u64, available: u64 },
    /// A record's data is cut short; every earlier frame was yielded.
    #[error("{file}: truncated {record} at frame {frame}, byte offset {offset}: the record needs {needed} bytes, {available} left")]
    TruncatedData { file: String, record: &'static str, frame: u64, offset: u64, needed: u64, available: u64 },
    /// A record header claims an implausible length; nothing was allocated for it.
    #[error("{file}: {record} at frame {frame}, byte offset {offset} claims {claimed} bytes, more than the maximum {max} (corrupt file?)")]
    RecordTooLarge { file: String, record: &'static str, frame: u64, offset: u64, claimed: u64, max: u64 },
    /// A structural error in the file (bad block length, unknown interface, …).
    #[error("{file}: malformed {format} at frame {frame}, byte offset {offset}: {reason}")]
    Malformed { file: String, format: CaptureFormat, frame: u64, offset: u64, reason: String },
    /// An I/O error while reading.
    #[error("{file}: read error at byte offset {offset} (frame {frame}): {error}")]
    Io { file: String, frame: u64, offset: u64, error: io::Error },
    /// The gzip stream is corrupt or cut short.
    #[error("{file}: gzip stream corrupt or truncated at decompressed byte offset {offset} (frame {frame}): {error}")]
    Gzip { file: String, frame: u64, offset: u64, error: io::Error },
    /// An I/O error while writing.
    #[error("{file}: write error: {error}")]
    Write { file: String, error: io::Error },
    /// Classic pcap holds a single link type.
    #[error(
        "{file}: a classic pcap file holds one link type, got {other} after {first}; write a .pcapng file instead"
    )]
    MixedLinkTypes { file: String, first: u32, other: u32 },
}

impl CaptureError {
    /// True for errors that mean the input was cut short (the earlier frames are good).
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            CaptureError::TruncatedHeader { .. }
                | CaptureError::TruncatedData { .. }
                | CaptureError::TruncatedFileHeader { .. }
        )
    }
}

enum Source<R: Read> {
    Plain(R),
    Gzip(Box<MultiGzDecoder<Chain<Cursor<Vec<u8>>, R>>>),
    Gone,
}

impl<R: Read> Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
            Source::Gone => Ok(0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    precision: TsPrecision,
    units: u64,
    tsoffset: i64,
    global: usize,
}

/// A packet record's fields, its bytes being `buf[start..start + len]`.
#[derive(Debug, Clone, Copy)]
struct Meta {
    ts_sec: i64,
    ts_nsec: u32,
    precision: TsPrecision,
    linktype: u32,
    interface_id: u32,
    origlen: u32,
    start: usize,
    len: usize,
    offset: u64,
}

impl Meta {
    /// Frame `number`, its bytes in `buf`.
    fn frame(self, number: u64, buf: &[u8]) -> Frame<'_> {
        Frame {
            number,
            ts_sec: self.ts_sec,
            ts_nsec: self.ts_nsec,
            ts_precision: self.precision,
            linktype: self.linktype,
            interface_id: self.interface_id,
            caplen: self.len as u32,
            origlen: self.origlen,
            data: &buf[self.start..self.start + self.len],
            file_offset: self.offset,
        }
    }
}

/// Streaming reader of pcap / pcapng / gzip captures. See the [module docs](self).
pub struct CaptureReader<R: Read> {
    name: String,
    src: Source<R>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
    done: bool,
    format: CaptureFormat,
    gzip: bool,
    big_endian: bool,
    frames: u64,
    pcap_max_caplen: u32,
    pcap_iface: Iface,
    sections: u32,
    ifaces: Vec<Iface>,
    all_ifaces: Vec<InterfaceInfo>,
}

impl<R: Read> fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("gzip", &self.gzip)
            .field("frames", &self.frames)
            .field("bytes_read", &self.bytes_read())
            .finish_non_exhaustive()
    }
}

/// Opens a capture file for reading; `"-"` reads standard input.
///
/// Missing files, directories and unreadable files give their own [`CaptureError`]s.
pub fn open(path: &str) -> Result<CaptureReader<Box<dyn Read + Send>>, CaptureError> {
    if path == "-" {
        // Not locked: the reader may be handed to another thread. It reads in large blocks.
        return CaptureReader::new(Box::new(io::stdin()), "<stdin>");
    }
    let open_err = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => CaptureError::NotFound { file: path.into() },
        io::ErrorKind::PermissionDenied => CaptureError::PermissionDenied { file: path.into() },
        _ => CaptureError::Io { file: path.into(), frame: 1, offset: 0, error: e },
    };
    let meta = std::fs::metadata(path).map_err(open_err)?;
    if meta.is_dir() {
        return Err(CaptureError::IsDirectory { file: path.into() });
    }
    let file = File::open(path).map_err(open_err)?;
    CaptureReader::new(Box::new(file), path)
}

/// A classic pcap record's timestamp: seconds and a fraction in µs or ns, which may exceed a
/// second (carried into the seconds).
#[inline]
fn pcap_ts(sec: u32, frac: u32, precision: TsPrecision) -> (i64, u32) {
    let (carry, nsec) = match precision {
        TsPrecision::Micro => (frac / 1_000_000, (frac % 1_000_000) * 1000),
        _ => (frac / 1_000_000_000, frac % 1_000_000_000),
    };
    (i64::from(sec) + i64::from(carry), nsec)
}

#[inline]
fn rd16(b: &[u8], at: usize, be: bool) -> u16 {
    let x = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(x)
    } else {
        u16::from_le_bytes(x)
    }
}

#[inline]
fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
    let x = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    }
}

/// Splits a timestamp counted in `units` per second into seconds and nanoseconds.
#[inline]
fn split_ts(ts: u64, precision: TsPrecision, units: u64) -> (i64, u32) {
    match precision {
        TsPrecision::Micro => ((ts / 1_000_000) as i64, (ts % 1_000_000) as u32 * 1000),
        TsPrecision::Nano => ((ts / 1_000_000_000) as i64, (ts % 1_000_000_000) as u32),
        TsPrecision::Other(_) => {
            let frac = u128::from(ts % units) * 1_000_000_000 / u128::from(units);
            ((ts / units) as i64, frac as u32)
        }
    }
}

/// Describes unrecognised leading bytes: hex, and a guess at what they are.
fn describe_bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "the file is empty".into();
    }
    let shown = &b[..b.len().min(16)];
    let hex: Vec<String> = shown.iter().map(|x| format!("{x:02x}")).collect();
    let guess = if b.starts_with(b"\x7fELF") {
        "looks like an ELF executable"
    } else if b.starts_with(b"PK\x03\x04") {
        "looks like a zip archive"
    } else if b.starts_with(b"BZh") {
        "looks like bzip2; decompress it first"
    } else if b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "looks like xz; decompress it first"
    } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "looks like zstd; decompress it first"
    } else if b.starts_with(&[0xa1, 0xb2, 0xcd, 0x34]) || b.starts_with(&[0x34, 0xcd, 0xb2, 0xa1]) {
        "looks like the modified (Kuznetzov) pcap format, which is not supported"
    } else if b.starts_with(b"snoop\0\0\0") {
        "looks like a Solaris snoop capture, which is not supported"
    } else if b.starts_with(b"%PDF") {
        "looks like a PDF document"
    } else if b.iter().all(|&c| c == b'\t' || c == b'\n' || c == b'\r' || (0x20..0x7f).contains(&c) || c >= 0x80)
        && std::str::from_utf8(b).is_ok()
    {
        "looks like text"
    } else {
        "unknown format"
    };
    format!("first bytes {} ({guess})", hex.join(" "))
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading `reader`, detecting the format from its first bytes. `name` is
    /// used in error messages. The reader need not be seekable.
    pub fn new(reader: R, name: &str) -> Result<Self, CaptureError> {
        let mut r = CaptureReader {
            name: name.to_string(),
            src: Source::Plain(reader),
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            done: false,
            format: CaptureFormat::Pcap,
            gzip: false,
            big_endian: false,
            frames: 0,
            pcap_max_caplen: MAX_CAPLEN,
            pcap_iface: Iface {
                linktype: 0,
                snaplen: 0,
                precision: TsPrecision::Micro,
                units: 1_000_000,
                tsoffset: 0,
                global: 0,
            },
            sections: 0,
            ifaces: Vec::new(),
            all_ifaces: Vec::new(),
        };
        r.fill(4).map_err(|e| r.io_err(e))?;
        if r.avail() >= 2 && r.buf[0] == 0x1f && r.buf[1] == 0x8b {
            r.switch_to_gzip();
            r.fill(4).map_err(|e| r.io_err(e))?;
        }
        r.detect()?;
        Ok(r)
    }

    fn switch_to_gzip(&mut self) {
        let prefix = self.buf[self.start..self.end].to_vec();
        if let Source::Plain(raw) = std::mem::replace(&mut self.src, Source::Gone) {
            self.src = Source::Gzip(Box::new(MultiGzDecoder::new(Cursor::new(prefix).chain(raw))));
        }
        self.gzip = true;
        self.start = 0;
        self.end = 0;
        self.base = 0;
        self.eof = false;
    }

    fn not_capture(&mut self) -> CaptureError {
        // Look a little further for a better guess; errors here only shorten the sample.
        let _ = self.fill(64);
        let sample = &self.buf[self.start..self.end.min(self.start + 64)];
        let mut found = describe_bytes(sample);
        if self.gzip {
            found = format!("gzip-compressed, but the content is not a capture file: {found}");
        }
        CaptureError::NotCapture { file: self.name.clone(), found }
    }

    fn detect(&mut self) -> Result<(), CaptureError> {
        if self.avail() < 4 {
            return Err(self.not_capture());
        }
        let b = &self.buf[self.start..self.start + 4];
        let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if le == PCAPNG_SHB {
            self.format = CaptureFormat::Pcapng;
            if !self.fill(12).map_err(|e| self.io_err(e))? {
                return Err(CaptureError::TruncatedFileHeader {
                    file: self.name.clone(),
                    format: CaptureFormat::Pcapng,
                    needed: 28,
                    available: self.avail() as u64,
                });
            }
            let bom = &self.buf[self.start + 8..self.start + 12];
            if rd32(bom, 0, false) != PCAPNG_BOM && rd32(bom, 0, true) != PCAPNG_BOM {
                return Err(self.not_capture());
            }
            return self.read_shb();
        }
        let (magic, big) = if le == PCAP_MAGIC_US || le == PCAP_MAGIC_NS {
            (le, false)
        } else if be == PCAP_MAGIC_US || be == PCAP_MAGIC_NS {
            (be, true)
        } else {
            return Err(self.not_capture());
        };
        self.format = CaptureFormat::Pcap;
        self.big_endian = big;
        if !self.fill(24).map_err(|e| self.io_err(e))? {
            return Err(CaptureError::TruncatedFileHeader {
                file: self.name.clone(),
                format: CaptureFormat::Pcap,
                needed: 24,
                available: self.avail() as u64,
            });
        }
        let h = &self.buf[self.start..self.start + 24];
        let snaplen = rd32(h, 16, big);
        let linktype = rd32(h, 20, big) & 0xffff;
        let precision = if magic == PCAP_MAGIC_NS { TsPrecision::Nano } else { TsPrecision::Micro };
        self.pcap_max_caplen = snaplen.clamp(MAX_CAPLEN, MAX_BLOCK_LEN);
        self.pcap_iface = Iface {
            linktype,
            snaplen,
            precision,
            units: precision.units_per_second().unwrap_or(1),
            tsoffset: 0,
            global: 0,
        };
        self.all_ifaces.push(InterfaceInfo {
            section: 0,
            interface_id: 0,
            linktype,
            snaplen,
            ts_precision: precision,
            name: None,
            frames: 0,
        });
        self.start += 24;
        Ok(())
    }

    /// The name given for error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// True when the file is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes consumed so far (of the decompressed stream, for gzip).
    pub fn bytes_read(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Frames yielded so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Every interface seen so far, across pcapng sections, with its link type and the
    /// number of frames read from it.
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.all_ifaces
    }

    /// Timestamp resolution of a classic pcap file, or of the first interface of a pcapng
    /// file (µs when none is known yet).
    pub fn ts_precision(&self) -> TsPrecision {
        self.all_ifaces.first().map_or(TsPrecision::Micro, |i| i.ts_precision)
    }

    /// The next frame, `None` at the end; after an error, `None` forever.
    ///
    /// The frame borrows the reader's buffer, so it must be dropped before the next call.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, CaptureError>> {
        match self.advance()? {
            Ok(m) => Some(Ok(m.frame(self.frames, &self.buf))),
            Err(e) => Some(Err(e)),
        }
    }

    /// The next packet record's metadata, its bytes being `buf[start..start + len]`.
    fn advance(&mut self) -> Option<Result<Meta, CaptureError>> {
        if self.done {
            return None;
        }
        let res = match self.format {
            CaptureFormat::Pcap => self.advance_pcap(),
            CaptureFormat::Pcapng => self.advance_pcapng(),
        };
        match res {
            Ok(Some(m)) => {
                self.frames += 1;
                Some(Ok(m))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// True when the next record (pcap) or block (pcapng) is whole in the buffer, so that
    /// reading it neither reads nor moves buffered bytes.
    fn next_is_buffered(&self) -> bool {
        let b = &self.buf[self.start..self.end];
        match self.format {
            CaptureFormat::Pcap => {
                b.len() >= 16 && b.len() >= 16 + rd32(b, 8, self.big_endian).min(self.pcap_max_caplen) as usize
            }
            CaptureFormat::Pcapng => {
                // Blocks up to the next packet block: all must be whole. A Section Header
                // Block may change the byte order: it is read the slow way.
                let mut at = 0;
                loop {
                    if b.len() - at < 12 || rd32(b, at, false) == PCAPNG_SHB {
                        return false;
                    }
                    let blen = rd32(b, at + 4, self.big_endian) as usize;
                    if blen < 12 || blen % 4 != 0 {
                        return true; // malformed: reported before any read
                    }
                    if b.len() - at < blen {
                        return false;
                    }
                    if matches!(rd32(b, at, self.big_endian), PCAPNG_EPB | PCAPNG_SPB | PCAPNG_PB) {
                        return true;
                    }
                    at += blen;
                }
            }
        }
    }

    /// Classic pcap: every whole record in the buffer, in one tight loop (what `advance_pcap`
    /// does for one, without its general path). Stops at a record that is not whole or
    /// claims too much, which `advance_pcap` then reads or reports.
    fn take_buffered_pcap(&mut self, frames: &mut Vec<BatchFrame>) {
        let (mut at, end) = (self.start, self.end);
        let mut n = 0;
        while end - at >= 16 {
            let caplen = rd32(&self.buf, at + 8, self.big_endian);
            if caplen > self.pcap_max_caplen || end - at - 16 < caplen as usize {
                break;
            }
            n += 1;
            frames.push(BatchFrame { number: self.frames + n, meta: self.pcap_meta(at) });
            at += 16 + caplen as usize;
        }
        self.frames += n;
        if let Some(i) = self.all_ifaces.first_mut() {
            i.frames += n;
        }
        self.start = at;
    }

    /// Reads the next frames into `batch` (replacing what it held) without copying them: the
    /// batch takes over the reader's buffer, and its previous buffer becomes the reader's, of
    /// at least `buffer_bytes`. A batch ends where the buffer does, so it holds about
    /// `buffer_bytes` of records. Returns `Ok(false)` at the end of the input (the batch may
    /// still hold frames). An error ends the input as in [`CaptureReader::next_frame`]; the
    /// frames before it are in the batch.
    pub fn next_batch(&mut self, batch: &mut FrameBatch, buffer_bytes: usize) -> Result<bool, CaptureError> {
        batch.frames.clear();
        let mut result = Ok(true);
        loop {
            if self.format == CaptureFormat::Pcap && !self.done {
                self.take_buffered_pcap(&mut batch.frames);
            }
            if !batch.frames.is_empty() && !self.next_is_buffered() {
                break;
            }
            match self.advance() {
                None => {
                    result = Ok(false);
                    break;
                }
                Some(Err(e)) => {
                    result = Err(e);
                    break;
                }
                Some(Ok(meta)) => batch.frames.push(BatchFrame { number: self.frames, meta }),
            }
        }
        if !batch.frames.is_empty() {
            // Hand the buffer over; what follows the last frame moves to the front of the next one.
            let mut next = std::mem::take(&mut batch.data);
            let rest = self.end - self.start;
            let size = buffer_bytes.max(self.buf.len()).max(rest);
            if next.len() < size {
                next.resize(size, 0);
            }
            next[..rest].copy_from_slice(&self.buf[self.start..self.end]);
            self.base += self.start as u64;
            self.start = 0;
            self.end = rest;
            batch.data = std::mem::replace(&mut self.buf, next);
        }
        result
    }

    #[inline]
    fn avail(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Makes `n` bytes available from `start`; false when the stream ends first.
    /// `n` is bounded by the callers (at most [`MAX_BLOCK_LEN`]).
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.avail() >= n {
            return Ok(true);
        }
        if self.start + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
            if n > self.buf.len() {
                self.buf.resize(n.next_multiple_of(READ_BUFFER), 0);
            }
        }
        while self.avail() < n && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.avail() >= n)
    }

    /// Consumes `n` bytes without buffering them; false when the stream ends first.
    fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        loop {
            let take = (self.avail() as u64).min(n);
            self.start += take as usize;
            n -= take;
            if n == 0 {
                return Ok(true);
            }
            if self.eof {
                return Ok(false);
            }
            self.base += self.end as u64;
            self.start = 0;
            self.end = 0;
            match self.src.read(&mut self.buf[..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end = k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn io_err(&self, error: io::Error) -> CaptureError {
        let (file, frame, offset) = (self.name.clone(), self.frames + 1, self.offset());
        if self.gzip
            && matches!(
                error.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            )
        {
            CaptureError::Gzip { file, frame, offset, error }
        } else {
            CaptureError::Io { file, frame, offset, error }
        }
    }

    fn truncated_header(&self, record: &'static str, needed: usize) -> CaptureError {
        CaptureError::TruncatedHeader {
            file: self.name.clone(),
            record,
            frame: self.frames + 1,
            offset: self.offset(),
            needed: needed as u64,
            available: self.avail() as u64,
        }
    }

    fn truncated_data(&self, record: &'static str, needed: usize) -> CaptureError {
        CaptureError::TruncatedData {
            file: self.name.clone(),
            record,
            frame: self.frames + 1,
            offset: self.offset(),
            needed: needed as u64,
            available: self.avail() as u64,
        }
    }

    fn too_large(&self, record: &'static str, claimed: u64, max: u64) -> CaptureError {
        CaptureError::RecordTooLarge {
            file: self.name.clone(),
            record,
            frame: self.frames + 1,
            offset: self.offset(),
            claimed,
            max,
        }
    }

    fn malformed(&self, reason: String) -> CaptureError {
        CaptureError::Malformed {
            file: self.name.clone(),
            format: self.format,
            frame: self.frames + 1,
            offset: self.offset(),
            reason,
        }
    }

    #[inline]
    fn advance_pcap(&mut self) -> Result<Option<Meta>, CaptureError> {
        const REC: &str = "pcap record";
        if self.avail() < 16 && !self.fill(16).map_err(|e| self.io_err(e))? {
            if self.avail() == 0 {
                return Ok(None);
            }
            return Err(self.truncated_header(REC, 16));
        }
        let caplen = rd32(&self.buf, self.start + 8, self.big_endian);
        if caplen > self.pcap_max_caplen {
            return Err(self.too_large(REC, u64::from(caplen), u64::from(self.pcap_max_caplen)));
        }
        let total = 16 + caplen as usize;
        if self.avail() < total && !self.fill(total).map_err(|e| self.io_err(e))? {
            return Err(self.truncated_data(REC, total));
        }
        let meta = self.pcap_meta(self.start);
        self.all_ifaces[0].frames += 1;
        self.start += total;
        Ok(Some(meta))
    }

    /// The pcap record whose 16-byte header is at `buf[at..]`, its data following (checked by
    /// the caller).
    #[inline]
    fn pcap_meta(&self, at: usize) -> Meta {
        let (be, iface) = (self.big_endian, &self.pcap_iface);
        let h = &self.buf[at..at + 16];
        let (ts_sec, ts_nsec) = pcap_ts(rd32(h, 0, be), rd32(h, 4, be), iface.precision);
        Meta {
            ts_sec,
            ts_nsec,
            precision: iface.precision,
            linktype: iface.linktype,
            interface_id: 0,
            origlen: rd32(h, 12, be),
            start: at + 16,
            len: rd32(h, 8, be) as usize,
            offset: self.base + at as u64,
        }
    }

    fn advance_pcapng(&mut self) -> Result<Option<Meta>, CaptureError> {
        const BLOCK: &str = "pcapng block";
        loop {
            if self.avail() < 12 && !self.fill(12).map_err(|e| self.io_err(e))? {
                match self.avail() {
                    0 => return Ok(None),
                    n if n >= 8 => {
                        // Long enough for type and length: report against the block's length.
                        let be = self.big_endian;
                        let blen = rd32(&self.buf, self.start + 4, be) as usize;
                        return Err(self.truncated_data(BLOCK, blen.max(12)));
                    }
                    _ => return Err(self.truncated_header(BLOCK, 8)),
                }
            }
            let s = self.start;
            let btype = rd32(&self.buf, s, false);
            if btype == PCAPNG_SHB {
                self.read_shb()?;
                continue;
            }
            let be = self.big_endian;
            let btype = rd32(&self.buf, s, be);
            let blen = rd32(&self.buf, s + 4, be);
            if blen < 12 || blen % 4 != 0 {
                return Err(self.malformed(format!(
                    "block type {btype:#x} has total length {blen}, not a multiple of 4 of at least 12"
                )));
            }
            let record = match btype {
                PCAPNG_EPB => "pcapng Enhanced Packet Block",
                PCAPNG_SPB => "pcapng Simple Packet Block",
                PCAPNG_PB => "pcapng Packet Block",
                PCAPNG_IDB => "pcapng Interface Description Block",
                _ => {
                    if !self.skip(u64::from(blen)).map_err(|e| self.io_err(e))? {
                        return Err(self.truncated_data(BLOCK, blen as usize));
                    }
                    continue;
                }
            };
            if blen > MAX_BLOCK_LEN {
                return Err(self.too_large(record, u64::from(blen), u64::from(MAX_BLOCK_LEN)));
            }
            let blen = blen as usize;
            if self.avail() < blen && !self.fill(blen).map_err(|e| self.io_err(e))? {
                return Err(self.truncated_data(record, blen));
            }
            let s = self.start;
            let trailer = rd32(&self.buf, s + blen - 4, be) as usize;
            if trailer != blen {
                return Err(
                    self.malformed(format!("{record}: total length {blen} at the start but {trailer} at the end"))
                );
            }
            if btype == PCAPNG_IDB {
                self.read_idb(blen)?;
                self.start += blen;
                continue;
            }
            let meta = self.packet_block(btype, record, blen)?;
            self.start += blen;
            return Ok(Some(meta));
        }
    }

    fn packet_block(&mut self, btype: u32, record: &'static str, blen: usize) -> Result<Meta, CaptureError> {
        let be = self.big_endian;
        let s = self.start;
        let b = &self.buf[s..s + blen];
        let (iface_id, ts, caplen, origlen, data_at, room) = match btype {
            PCAPNG_EPB | PCAPNG_PB => {
                if blen < 32 {
                    return Err(self.malformed(format!("{record} of {blen} bytes, minimum 32")));
                }
                let (iface_id, ts_hi) = if btype == PCAPNG_EPB {
                    (rd32(b, 8, be), rd32(b, 12, be))
                } else {
                    (u32::from(rd16(b, 8, be)), rd32(b, 12, be))
                };
                let ts = (u64::from(ts_hi) << 32) | u64::from(rd32(b, 16, be));
                (iface_id, Some(ts), rd32(b, 20, be), rd32(b, 24, be), 28, blen - 32)
            }
            _ => {
                if blen < 16 {
                    return Err(self.malformed(format!("{record} of {blen} bytes, minimum 16")));
                }
                let origlen = rd32(b, 8, be);
                let room = blen - 16;
                let snap = self.ifaces.first().map_or(0, |i| i.snaplen);
                let mut caplen = origlen.min(room as u32);
                if snap != 0 {
                    caplen = caplen.min(snap);
                }
                (0, None, caplen, origlen, 12, room)
            }
        };
        if caplen as usize > room {
            return Err(self.too_large(record, u64::from(caplen), room as u64));
        }
        let Some(iface) = self.ifaces.get(iface_id as usize).copied() else {
            return Err(self.malformed(format!(
                "{record} refers to interface {iface_id}, but the section defines {}",
                self.ifaces.len()
            )));
        };
        let (ts_sec, ts_nsec) = match ts {
            Some(ts) => split_ts(ts, iface.precision, iface.units),
            None => (0, 0),
        };
        self.all_ifaces[iface.global].frames += 1;
        Ok(Meta {
            ts_sec: ts_sec.saturating_add(iface.tsoffset),
            ts_nsec,
            precision: iface.precision,
            linktype: iface.linktype,
            interface_id: iface_id,
            origlen,
            start: s + data_at,
            len: caplen as usize,
            offset: self.offset(),
        })
    }

    fn read_shb(&mut self) -> Result<(), CaptureError> {
        const REC: &str = "pcapng Section Header Block";
        let s = self.start;
        let bom = &self.buf[s + 8..s + 12];
        let be = if rd32(bom, 0, false) == PCAPNG_BOM {
            false
        } else if rd32(bom, 0, true) == PCAPNG_BOM {
            true
        } else {
            return Err(self.malformed(format!(
                "{REC} with byte-order magic {:02x}{:02x}{:02x}{:02x}",
                bom[0], bom[1], bom[2], bom[3]
            )));
        };
        let blen = rd32(&self.buf, s + 4, be);
        if blen < 28 || blen % 4 != 0 {
            return Err(self.malformed(format!("{REC} with total length {blen}")));
        }
        if blen > MAX_BLOCK_LEN {
            return Err(self.too_large(REC, u64::from(blen), u64::from(MAX_BLOCK_LEN)));
        }
        let blen = blen as usize;
        if !self.fill(blen).map_err(|e| self.io_err(e))? {
            if self.sections == 0 && self.frames == 0 {
                return Err(CaptureError::TruncatedFileHeader {
                    file: self.name.clone(),
                    format: CaptureFormat::Pcapng,
                    needed: blen as u64,
                    available: self.avail() as u64,
                });
            }
            return Err(self.truncated_data(REC, blen));
        }
        let s = self.start;
        let major = rd16(&self.buf, s + 12, be);
        let trailer = rd32(&self.buf, s + blen - 4, be) as usize;
        if trailer != blen {
            return Err(self.malformed(format!("{REC}: total length {blen} at the start but {trailer} at the end")));
        }
        if major != 1 {
            return Err(self.malformed(format!("unsupported pcapng major version {major}")));
        }
        self.big_endian = be;
        self.sections += 1;
        self.ifaces.clear();
        self.start += blen;
        Ok(())
    }

    fn read_idb(&mut self, blen: usize) -> Result<(), CaptureError> {
        let be = self.big_endian;
        let s = self.start;
        if blen < 20 {
            return Err(self.malformed(format!("Interface Description Block of {blen} bytes, minimum 20")));
        }
        let b = &self.buf[s..s + blen - 4];
        let linktype = u32::from(rd16(b, 8, be));
        let snaplen = rd32(b, 12, be);
        let mut tsresol = 6u8;
        let mut tsoffset = 0i64;
        let mut name = None;
        // Options: code (2), length (2), value padded to 4 bytes; stop at opt_endofopt
        // or at the first option that runs past the block (lenient, like libpcap).
        let mut at = 16;
        while at + 4 <= b.len() {
            let code = rd16(b, at, be);
            let len = usize::from(rd16(b, at + 2, be));
            let v = at + 4;
            if code == 0 || v + len > b.len() {
                break;
            }
            match (code, len) {
                (2, _) => name = Some(String::from_utf8_lossy(&b[v..v + len]).into_owned()),
                (9, 1) => tsresol = b[v],
                (14, 8) => {
                    let hi = rd32(b, v, be);
                    let lo = rd32(b, v + 4, be);
                    let x =
                        if be { (u64::from(hi) << 32) | u64::from(lo) } else { (u64::from(lo) << 32) | u64::from(hi) };
                    tsoffset = x as i64;
                }
                _ => {}
            }
            at = v + len.next_multiple_of(4);
        }
        let precision = TsPrecision::from_if_tsresol(tsresol);
        let Some(units) = precision.units_per_second() else {
            return Err(self.malformed(format!(
                "interface {} has if_tsresol {tsresol:#04x}, finer than 64-bit timestamps can count",
                self.ifaces.len()
            )));
        };
        let id = self.ifaces.len() as u32;
        self.all_ifaces.push(InterfaceInfo {
            section: self.sections.saturating_sub(1),
            interface_id: id,
            linktype,
            snaplen,
            ts_precision: precision,
            name,
            frames: 0,
        });
        self.ifaces.push(Iface { linktype, snaplen, precision, units, tsoffset, global: self.all_ifaces.len() - 1 });
        Ok(())
    }
}

/// Writes classic pcap or pcapng.
///
/// Classic pcap: the file header is written with the first frame, taking its link type
/// (a later frame of another link type is an error) and nanosecond magic when the writer's
/// or the first frame's resolution is finer than µs. pcapng: one Interface Description
/// Block per (link type, resolution) seen, then an Enhanced Packet Block per frame.
pub struct CaptureWriter<W: Write = Box<dyn Write>> {
    name: String,
    out: BufWriter<W>,
    format: CaptureFormat,
    precision: TsPrecision,
    pcap_header: Option<(u32, TsPrecision)>,
    empty_linktype: u32,
    ifaces: Vec<(u32, TsPrecision, u64)>,
    frames: u64,
}

impl<W: Write> fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureWriter")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl CaptureWriter {
    /// Creates `path` (`"-"` = standard output), pcapng when it ends in `.pcapng`, classic
    /// pcap otherwise; `precision` is the timestamp resolution used by [`Self::write_frame`].
    pub fn create(path: &str, precision: TsPrecision) -> Result<Self, CaptureError> {
        Self::create_with_format(path, CaptureFormat::from_path(path), precision)
    }

    /// Like [`Self::create`] with an explicit format.
    pub fn create_with_format(path: &str, format: CaptureFormat, precision: TsPrecision) -> Result<Self, CaptureError> {
        let out: Box<dyn Write> = if path == "-" {
            Box::new(io::stdout().lock())
        } else {
            let f = File::create(path).map_err(|e| match e.kind() {
                io::ErrorKind::PermissionDenied => CaptureError::PermissionDenied { file: path.into() },
                io::ErrorKind::NotFound => CaptureError::NotFound { file: path.into() },
                _ => CaptureError::Write { file: path.into(), error: e },
            })?;
            Box::new(f)
        };
        Self::new(out, path, format, precision)
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Writes to any `Write` (`name` is used in error messages).
    pub fn new(out: W, name: &str, format: CaptureFormat, precision: TsPrecision) -> Result<Self, CaptureError> {
        let mut w = CaptureWriter {
            name: name.to_string(),
            out: BufWriter::with_capacity(READ_BUFFER, out),
            format,
            precision,
            pcap_header: None,
            empty_linktype: LINKTYPE_ETHERNET,
            ifaces: Vec::new(),
            frames: 0,
        };
        if format == CaptureFormat::Pcapng {
            // Section Header Block: no options, section length unknown (-1).
            let mut shb = [0u8; 28];
            shb[0..4].copy_from_slice(&PCAPNG_SHB.to_le_bytes());
            shb[4..8].copy_from_slice(&28u32.to_le_bytes());
            shb[8..12].copy_from_slice(&PCAPNG_BOM.to_le_bytes());
            shb[12..14].copy_from_slice(&1u16.to_le_bytes());
            shb[16..24].copy_from_slice(&(-1i64).to_le_bytes());
            shb[24..28].copy_from_slice(&28u32.to_le_bytes());
            w.put(&shb)?;
        }
        Ok(w)
    }

    /// Link type written in the header of a classic pcap file that gets no frame.
    pub fn set_empty_linktype(&mut self, linktype: u32) {
        self.empty_linktype = linktype;
    }

    /// The output format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    fn put(&mut self, b: &[u8]) -> Result<(), CaptureError> {
        self.out.write_all(b).map_err(|error| CaptureError::Write { file: self.name.clone(), error })
    }

    /// Writes one frame with the writer's timestamp resolution.
    pub fn write_frame(
        &mut self,
        ts_sec: i64,
        ts_nsec: u32,
        linktype: u32,
        origlen: u32,
        data: &[u8],
    ) -> Result<(), CaptureError> {
        self.write_frame_with_precision(ts_sec, ts_nsec, self.precision, linktype, origlen, data)
    }

    /// Writes a frame exactly as it was captured (link type, resolution, lengths).
    pub fn write_captured(&mut self, frame: &Frame<'_>) -> Result<(), CaptureError> {
        self.write_frame_with_precision(
            frame.ts_sec,
            frame.ts_nsec,
            frame.ts_precision,
            frame.linktype,
            frame.origlen,
            frame.data,
        )
    }

    /// Writes one frame recorded at resolution `precision`.
    pub fn write_frame_with_precision(
        &mut self,
        ts_sec: i64,
        ts_nsec: u32,
        precision: TsPrecision,
        linktype: u32,
        origlen: u32,
        data: &[u8],
    ) -> Result<(), CaptureError> {
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let data = &data[..caplen as usize];
        let origlen = origlen.max(caplen);
        match self.format {
            CaptureFormat::Pcap => {
                let (lt, prec) = match self.pcap_header {
                    Some(h) => h,
                    None => {
                        let prec = if self.precision.finer_than_micro() || precision.finer_than_micro() {
                            TsPrecision::Nano
                        } else {
                            TsPrecision::Micro
                        };
                        self.pcap_file_header(linktype, prec)?;
                        (linktype, prec)
                    }
                };
                if lt != linktype {
                    return Err(CaptureError::MixedLinkTypes { file: self.name.clone(), first: lt, other: linktype });
                }
                let frac = if prec == TsPrecision::Nano { ts_nsec } else { ts_nsec / 1000 };
                let mut h = [0u8; 16];
                h[0..4].copy_from_slice(&(ts_sec as u32).to_le_bytes());
                h[4..8].copy_from_slice(&frac.to_le_bytes());
                h[8..12].copy_from_slice(&caplen.to_le_bytes());
                h[12..16].copy_from_slice(&origlen.to_le_bytes());
                self.put(&h)?;
                self.put(data)?;
            }
            CaptureFormat::Pcapng => {
                let units = precision.units_per_second().unwrap_or(1_000_000_000);
                let id = match self.ifaces.iter().position(|&(l, p, _)| l == linktype && p == precision) {
                    Some(i) => i,
                    None => {
                        self.pcapng_idb(linktype, precision)?;
                        self.ifaces.push((linktype, precision, units));
                        self.ifaces.len() - 1
                    }
                };
                let units = self.ifaces[id].2;
                let sec = u128::try_from(ts_sec).unwrap_or(0);
                let ts = sec * u128::from(units) + u128::from(ts_nsec) * u128::from(units) / 1_000_000_000;
                let ts = u64::try_from(ts).unwrap_or(u64::MAX);
                let padded = (caplen as usize).next_multiple_of(4);
                let blen = (32 + padded) as u32;
                let mut h = [0u8; 28];
                h[0..4].copy_from_slice(&PCAPNG_EPB.to_le_bytes());
                h[4..8].copy_from_slice(&blen.to_le_bytes());
                h[8..12].copy_from_slice(&(id as u32).to_le_bytes());
                h[12..16].copy_from_slice(&((ts >> 32) as u32).to_le_bytes());
                h[16..20].copy_from_slice(&(ts as u32).to_le_bytes());
                h[20..24].copy_from_slice(&caplen.to_le_bytes());
                h[24..28].copy_from_slice(&origlen.to_le_bytes());
                self.put(&h)?;
                self.put(data)?;
                self.put(&[0u8; 3][..padded - caplen as usize])?;
                self.put(&blen.to_le_bytes())?;
            }
        }
        self.frames += 1;
        Ok(())
    }

    fn pcap_file_header(&mut self, linktype: u32, precision: TsPrecision) -> Result<(), CaptureError> {
        let magic = if precision == TsPrecision::Nano { PCAP_MAGIC_NS } else { PCAP_MAGIC_US };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&MAX_CAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&linktype.to_le_bytes());
        self.put(&h)?;
        self.pcap_header = Some((linktype, precision));
        Ok(())
    }

    fn pcapng_idb(&mut self, linktype: u32, precision: TsPrecision) -> Result<(), CaptureError> {
        let with_resol = precision != TsPrecision::Micro;
        let blen: u32 = if with_resol { 32 } else { 20 };
        let mut b = Vec::with_capacity(blen as usize);
        b.extend_from_slice(&PCAPNG_IDB.to_le_bytes());
        b.extend_from_slice(&blen.to_le_bytes());
        b.extend_from_slice(&(linktype as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // snaplen 0: no limit
        if with_resol {
            b.extend_from_slice(&9u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&[precision.if_tsresol(), 0, 0, 0]);
            b.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        b.extend_from_slice(&blen.to_le_bytes());
        self.put(&b)
    }

    fn finish_header(&mut self) -> Result<(), CaptureError> {
        if self.format == CaptureFormat::Pcap && self.pcap_header.is_none() {
            let prec = if self.precision.finer_than_micro() { TsPrecision::Nano } else { TsPrecision::Micro };
            self.pcap_file_header(self.empty_linktype, prec)?;
        }
        Ok(())
    }

    /// Writes any pending header and flushes; returns the number of frames written.
    pub fn finish(mut self) -> Result<u64, CaptureError> {
        self.finish_header()?;
        self.out.flush().map_err(|error| CaptureError::Write { file: self.name.clone(), error })?;
        Ok(self.frames)
    }

    /// Finishes and returns the underlying writer (for in-memory output in tests).
    pub fn into_inner(mut self) -> Result<W, CaptureError> {
        self.finish_header()?;
        let name = self.name.clone();
        self.out.into_inner().map_err(|e| CaptureError::Write { file: name, error: e.into_error() })
    }
}
