//! One module per subcommand. Each takes its parsed arguments and an
//! [`Output`], and returns the exit code.

mod decode;
mod encode;
mod generate;
mod live;
pub mod pcap;
mod probe;

use crate::cli::{Cli, Command};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use teredo_tool::output::Output;

/// Exit code 1: some input could not be parsed or processed.
pub const EXIT_INPUT: u8 = 1;

/// An error in how the command was called (exit code 2), found after
/// argument parsing, e.g. options that contradict each other.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let format = cli.global.format();
    let color = cli.global.color().apply_to_stdout();
    let stdout = io::stdout();
    let mut out = Output::new(BufWriter::with_capacity(64 * 1024, stdout.lock()), format, color);
    let code = match &cli.command {
        Command::Decode(args) => decode::run(args, &mut out)?,
        Command::Encode(args) => encode::run(args, &mut out)?,
        Command::Generate(args) => generate::run(args)?,
        Command::Pcap(args) => pcap::run(args, &mut out)?,
        Command::Probe(args) => probe::run(args, &mut out)?,
        Command::Live(args) => live::run(args, &mut out)?,
    };
    out.finish()?;
    Ok(code)
}

/// True when the error chain holds a broken pipe: stdout was closed early.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>().and_then(|j| j.io_error_kind()) == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error that already names its input (file, frame, offset).
pub fn report_error(e: &dyn std::fmt::Display) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "teredo-tool: {e}");
}

/// Prints one input error the way every command does, without stopping.
pub fn report(what: &str, why: &dyn std::fmt::Display) {
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "teredo-tool: {what}: {why}");
}
