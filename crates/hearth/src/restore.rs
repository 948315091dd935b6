//! `hearth restore`: a backup (`backup` in headless, "Back up" in Settings) into a
//! new profile, on this machine or another. The backup's passphrase comes from
//! `HEARTH_BACKUP_PASSPHRASE` (or is asked for on the terminal); the new profile is
//! protected by `HEARTH_PASSPHRASE` if set, else by a key file as usual.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Options of `hearth restore`.
#[derive(Args, Debug)]
pub(crate) struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    backup: PathBuf,
    /// The profile directory to restore into: it must not exist, or be empty.
    #[arg(long)]
    profile: PathBuf,
}

fn passphrase() -> anyhow::Result<String> {
    if let Ok(passphrase) = std::env::var("HEARTH_BACKUP_PASSPHRASE") {
        return Ok(passphrase);
    }
    eprint!("The backup's passphrase: ");
    std::io::stderr().flush()?;
    // Not shown as it is typed, where the terminal allows it.
    let echo = |on: &str| {
        let _ = std::process::Command::new("stty")
            .arg(on)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    echo("-echo");
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    echo("echo");
    eprintln!();
    read.context("could not read the passphrase")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub(crate) fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let passphrase = passphrase()?;
    let profile_passphrase = std::env::var("HEARTH_PASSPHRASE").ok();
    let mut shown = 0;
    let info = hearth_node::restore(
        &args.backup,
        &passphrase,
        &args.profile,
        profile_passphrase.as_deref(),
        |done, total| {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            if percent >= shown + 10 {
                shown = percent;
                eprintln!("restoring… {percent}%");
            }
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "restored {} messages and changes and {} files into {}",
        info.messages_and_changes,
        info.files,
        args.profile.display()
    );
    Ok(())
}
