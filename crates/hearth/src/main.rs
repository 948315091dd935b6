//! `hearth`: the Hearth app and its command-line modes.
//!
//! `hearth headless --profile DIR` runs the engine with JSON lines on stdin and
//! stdout, for scripts, bots and end-to-end tests (see `docs/headless.md`).

mod headless;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Hearth: a private, peer-to-peer messenger for two.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Runs the engine without a window: one JSON command per line on stdin, one
    /// JSON event per line on stdout, logs on stderr.
    Headless {
        /// The profile directory (created on first start).
        #[arg(long)]
        profile: PathBuf,
        /// An address to listen on, e.g. /ip4/0.0.0.0/tcp/4001 (repeatable).
        #[arg(long)]
        listen: Vec<String>,
        /// Do not use mDNS to find devices on the LAN.
        #[arg(long)]
        no_mdns: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| "warn,hearth_node=info,hearth_net=info".into()),
        )
        .init();
    match cli.mode {
        Some(Mode::Headless {
            profile,
            listen,
            no_mdns,
        }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let code = runtime.block_on(headless::run(profile, listen, !no_mdns))?;
            std::process::exit(code);
        }
        None => {
            eprintln!(
                "The Hearth desktop window is not built yet. Run the engine with:\n  \
                 hearth headless --profile DIR\n(see docs/headless.md)"
            );
            std::process::exit(2);
        }
    }
}
