//! The `teredo-tool` binary: argument parsing and error reporting only; the
//! work is done by the library and the small `cmd` modules.

mod cli;
mod cmd;

use clap::Parser;
use std::process::ExitCode;

/// The allocator. mimalloc takes its memory from the system in large arenas that it asks to
/// back with transparent huge pages (`madvise(MADV_HUGEPAGE)`), and reuses freed blocks on
/// the thread that frees them. `pcap --analyze` on a large capture touches tens of MiB of
/// tables, lists and report text: 26,800 page faults with the system allocator, 2,400 with
/// this one, and 10% less time (BENCHMARKS.md). The library leaves the choice of allocator to
/// the program that uses it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version exit 0, usage errors 2 (clap's codes).
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    };
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if cmd::is_broken_pipe(&err) {
                // `teredo-tool ... | head`: the reader has all it wanted.
                return ExitCode::SUCCESS;
            }
            eprintln!("teredo-tool: {err:#}");
            if err.downcast_ref::<cmd::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
