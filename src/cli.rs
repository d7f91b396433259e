//! Command-line interface (clap derive). Kept thin: each subcommand's work is
//! in `cmd/`, on top of the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use teredo_tool::output::{ColorChoice, Format};

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 some input could not be parsed or processed (the rest
was still processed; messages on stderr); 2 usage error.";

/// Teredo (RFC 4380) toolkit: decode addresses, dissect captures, analyse
/// and probe IPv6-over-UDP tunnels through NATs.
#[derive(Debug, Parser)]
#[command(name = "teredo-tool", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: a table for people, one JSON document, or one JSON
    /// object per line.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Table, value_name = "FORMAT")]
    pub format: FormatArg,
    /// Short for --format json.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour table output (auto: only on a terminal, and never when
    /// NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

impl GlobalArgs {
    pub fn format(&self) -> Format {
        if self.json {
            return Format::Json;
        }
        match self.format {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }

    pub fn color(&self) -> ColorChoice {
        match self.color {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Ndjson,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take Teredo addresses apart: server, flags, mapped port and IPv4.
    #[command(after_help = AFTER_HELP)]
    Decode(DecodeArgs),
    /// Build a Teredo address from a server, a mapped address and flags.
    #[command(after_help = AFTER_HELP)]
    Encode(EncodeArgs),
    /// Dissect the Teredo packets in pcap/pcapng files ("-" for stdin).
    #[command(after_help = AFTER_HELP)]
    Pcap(PcapArgs),
    /// Probe Teredo servers: qualification and NAT type, relay discovery, tunnelled ping.
    #[command(after_help = PROBE_AFTER_HELP)]
    Probe(ProbeArgs),
    /// Capture on a network interface (libpcap) and dissect Teredo as it
    /// arrives; needs root or CAP_NET_RAW and CAP_NET_ADMIN.
    #[command(after_help = LIVE_AFTER_HELP)]
    Live(LiveArgs),
    /// Write shell completions and man pages (for packagers).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// Message types, as `--type` takes them.
pub const MESSAGE_TYPE_NAMES: [&str; 8] = [
    "bubble",
    "indirect-bubble",
    "router-solicitation",
    "router-advertisement",
    "echo-request",
    "echo-reply",
    "data",
    "malformed",
];

/// How Teredo is found and which packets are kept: shared by `pcap` and `live`.
#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// Keep only these message types (comma-separated).
    #[arg(long = "type", value_name = "TYPE", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(MESSAGE_TYPE_NAMES))]
    pub types: Vec<String>,
    /// Keep packets involving this address: an IPv4 on the outer layer or
    /// embedded in a Teredo address (server or mapped), or an inner IPv6.
    /// Repeat for any of several.
    #[arg(long, value_name = "ADDR")]
    pub host: Vec<String>,
    /// Keep packets with this outer UDP port (either side). Repeatable.
    #[arg(long, value_name = "PORT")]
    pub port: Vec<u16>,
    /// Stop after N matching packets.
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,
    /// Also decode UDP on these ports as Teredo (comma-separated), besides 3544.
    #[arg(long, value_name = "PORT", value_delimiter = ',')]
    pub ports: Vec<u16>,
    /// Decode only UDP port 3544 (and --ports): no heuristic detection.
    #[arg(long)]
    pub no_heuristic: bool,
}

/// How each packet is shown: shared by `pcap` and `live`.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Show every layer of each packet with byte offsets (like tshark -V).
    #[arg(short = 'V', long)]
    pub verbose: bool,
    /// Hex dump of each packet.
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// Print counters instead of packets (one JSON document with --format json).
    #[arg(long)]
    pub summary: bool,
    /// Analyse the traffic instead of listing packets: clients, servers,
    /// relays, Teredo processes (qualification, bubbles, relay discovery...),
    /// RS/RA pairing and anomalies (one JSON document with --format json).
    #[arg(long)]
    pub analyze: bool,
    /// Write the matching frames, exactly as captured, to OUT (.pcapng for
    /// pcapng, anything else for classic pcap).
    #[arg(short = 'w', long = "write", value_name = "OUT")]
    pub write: Option<String>,
    /// Write the inner IPv6 packets of the matching frames to OUT
    /// (LINKTYPE_IPV6, original timestamps), for any IPv6 tool.
    #[arg(long, value_name = "OUT")]
    pub decap: Option<String>,
    /// No progress bar and no end-of-run line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PcapArgs {
    /// Capture files: pcap or pcapng, optionally gzip-compressed; "-" reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub show: ShowArgs,
    /// Keep packets at or after this time (RFC 3339, or seconds since the epoch).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep packets at or before this time (RFC 3339, or seconds since the epoch).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// IPv6 addresses (any textual form: compressed, full, [bracketed],
    /// /len, %zone). None, or "-", reads whitespace-separated addresses from
    /// stdin (blank lines and # comments ignored).
    #[arg(value_name = "ADDR")]
    pub addresses: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The Teredo server's IPv4 address.
    #[arg(long, value_name = "IPV4")]
    pub server: String,
    /// The client's mapped (external) IPv4 address and UDP port.
    #[arg(long, value_name = "IPV4:PORT")]
    pub mapped: String,
    /// Set the cone flag (0x8000).
    #[arg(long)]
    pub cone: bool,
    /// All 16 flag bits, e.g. 0x8000 (hex with 0x, or decimal).
    #[arg(long, value_name = "FLAGS", conflicts_with = "random")]
    pub flags: Option<String>,
    /// Fill the 12 RFC 5991 random bits (mask 0x3CFF) from the OS random source.
    #[arg(long)]
    pub random: bool,
    /// Use the legacy 3ffe:831f::/32 prefix instead of 2001::/32.
    #[arg(long)]
    pub legacy_prefix: bool,
}

const LIVE_AFTER_HELP: &str = "\
Stops on Ctrl-C (or SIGTERM), after --count packets or after --duration, then
prints a summary with libpcap's received and dropped counters on stderr (with
--summary, in the summary document). SIGUSR1 prints the counters so far (and
the analysis with --analyze). Built without the `live` cargo feature, this
command only says so.

Exit status: 0 success; 1 the capture could not be opened or read; 2 usage error.";

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (see --list).
    #[arg(short, long, value_name = "IFACE", required_unless_present = "list")]
    pub interface: Option<String>,
    /// List the interfaces libpcap can capture on, with their addresses.
    #[arg(long, conflicts_with = "interface")]
    pub list: bool,
    /// BPF filter (tcpdump syntax) instead of the default `udp`
    /// (`udp port 3544`, plus --ports, with --no-heuristic).
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,
    /// Started as root: switch to this user right after opening the capture
    /// (refuses to go on if that fails).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Bytes captured of each packet.
    #[arg(short = 's', long, value_name = "BYTES", default_value_t = 262_144,
          value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,
    /// Kernel capture buffer in MiB: more absorbs longer bursts (see README,
    /// "live throughput").
    #[arg(short = 'B', long, value_name = "MIB", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub buffer_size: u32,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub show: ShowArgs,
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v.is_finite() && v < 1e9) {
        return Err(format!("{s:?}: the duration must be a positive number of seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

const PROBE_AFTER_HELP: &str = "\
Without --server, the built-in list of public Teredo servers is probed (host names from
pteredor's list; override with TEREDO_TOOL_SERVERS=\"name1,name2\") and a health table printed.

Exit status: 0 qualified (and, with --relay/--ping, the relay answered); 1 qualified but the
relay or ping failed; 2 usage error; 3 offline: no valid Router Advertisement from any server.";

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Teredo server name or IPv4 address (repeatable; probed concurrently). Names resolve
    /// through the system resolver. HOST:PORT is accepted for test servers.
    #[arg(long, value_name = "HOST")]
    pub server: Vec<String>,
    /// Classify the NAT (RFC 4380 qualification). Always done; accepted for clarity.
    #[arg(long)]
    pub nat_type: bool,
    /// Secondary server address (default: primary + 1).
    #[arg(long, value_name = "IPV4")]
    pub secondary: Option<std::net::Ipv4Addr>,
    /// Local address and port of the socket whose mapping is reported.
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<std::net::SocketAddrV4>,
    /// Seconds to wait for each Router Advertisement (RFC 4380: 4).
    #[arg(long, value_name = "SECONDS", default_value_t = 4.0)]
    pub timeout: f64,
    /// Router Solicitations per test (RFC 4380: 3).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub retries: u32,
    /// Seconds without traffic to or from the server after which a keepalive Router
    /// Solicitation is sent during --relay/--ping (RFC 4380 §5.2.5, RFC 6081 §5.1.1: 30).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub keepalive: f64,
    /// Print every packet sent and received (on stderr).
    #[arg(long)]
    pub trace: bool,
    /// After qualifying, find the relay that serves this IPv6 host (address or name).
    #[arg(long, value_name = "IPV6_HOST", conflicts_with = "ping")]
    pub relay: Option<String>,
    /// Relay discovery, then ping this IPv6 host through the relay (or, for a Teredo
    /// address, directly after the bubble exchange).
    #[arg(long, value_name = "IPV6_HOST")]
    pub ping: Option<String>,
    /// Echo requests to send with --ping.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 4, requires = "ping")]
    pub count: u32,
    /// Seconds between echo requests with --ping.
    #[arg(short = 'i', long, value_name = "SECONDS", default_value_t = 1.0, requires = "ping")]
    pub interval: f64,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory for shell completions.
    #[arg(long, value_name = "DIR", default_value = "completions")]
    pub completions: PathBuf,
    /// Directory for man pages.
    #[arg(long, value_name = "DIR", default_value = "man")]
    pub man: PathBuf,
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
