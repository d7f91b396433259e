//! `teredo-tool decode`: addresses from arguments or stdin, streamed.

use super::{report, EXIT_INPUT};
use crate::cli::DecodeArgs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use teredo_tool::addr::parse_ipv6_token;
use teredo_tool::output::{AddressView, Output};

pub fn run<W: Write>(args: &DecodeArgs, out: &mut Output<W>) -> anyhow::Result<ExitCode> {
    let mut failed = 0u64;
    if args.addresses.is_empty() {
        failed += decode_stdin(out)?;
    }
    for token in &args.addresses {
        if token == "-" {
            failed += decode_stdin(out)?;
        } else if !decode_one(token, None, out)? {
            failed += 1;
        }
    }
    Ok(if failed > 0 { ExitCode::from(EXIT_INPUT) } else { ExitCode::SUCCESS })
}

/// Decodes one token; false (after reporting it) when it is not an address.
fn decode_one<W: Write>(token: &str, line: Option<u64>, out: &mut Output<W>) -> io::Result<bool> {
    match parse_ipv6_token(token) {
        Ok(addr) => {
            out.record(&AddressView::new(token, addr))?;
            Ok(true)
        }
        Err(e) => {
            // Keep what was decoded so far in order with the error message.
            out.writer().flush()?;
            match line {
                Some(n) => report(&format!("stdin line {n}: {token:?}"), &e),
                None => report(&format!("{token:?}"), &e),
            }
            Ok(false)
        }
    }
}

/// Reads whitespace-separated addresses line by line, so that a million-line
/// input runs in constant memory. Returns the number of bad tokens.
fn decode_stdin<W: Write>(out: &mut Output<W>) -> anyhow::Result<u64> {
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut buf = Vec::with_capacity(256);
    let mut failed = 0;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let Ok(line) = std::str::from_utf8(&buf) else {
            report(&format!("stdin line {line_no}"), &"not valid UTF-8 text");
            failed += 1;
            continue;
        };
        let line = line.split('#').next().unwrap_or("");
        for token in line.split_whitespace() {
            if !decode_one(token, Some(line_no), out)? {
                failed += 1;
            }
        }
        if interactive {
            out.writer().flush()?;
        }
    }
    Ok(failed)
}
