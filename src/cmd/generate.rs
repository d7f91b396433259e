//! Hidden `generate`: shell completions and man pages, written by the binary
//! itself so they never drift from the real arguments (a test checks that
//! the committed copies are fresh).

use crate::cli::{Cli, GenerateArgs};
use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;
use std::fs;
use std::process::ExitCode;

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    cmd.build();
    fs::create_dir_all(&args.completions).with_context(|| format!("creating {}", args.completions.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
        clap_complete::generate_to(shell, &mut cmd, "teredo-tool", &args.completions)
            .with_context(|| format!("writing {shell} completions to {}", args.completions.display()))?;
    }
    fs::create_dir_all(&args.man).with_context(|| format!("creating {}", args.man.display()))?;
    write_man(&cmd, &args.man.join("teredo-tool.1"))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let name = format!("teredo-tool-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .display_name(name.clone())
            .bin_name(format!("teredo-tool {}", sub.get_name()));
        write_man(&page, &args.man.join(format!("{name}.1")))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_man(cmd: &clap::Command, path: &std::path::Path) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    fs::write(path, buf).with_context(|| format!("writing {}", path.display()))
}
