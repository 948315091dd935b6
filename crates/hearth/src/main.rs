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
    /// The profile directory for the window (default: the platform's data directory,
    /// e.g. ~/.local/share/hearth). Use another to run two instances side by side.
    #[arg(long, global = false)]
    profile: Option<PathBuf>,
    /// An address to listen on (repeatable); default: all interfaces, random ports.
    #[arg(long)]
    listen: Vec<String>,
    /// Do not use mDNS to find devices on the LAN.
    #[arg(long)]
    no_mdns: bool,
    /// An address to connect to at start, e.g. a partner's device (repeatable).
    #[arg(long)]
    dial: Vec<String>,
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
    let launched = std::time::Instant::now();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| "warn,hearth_node=info,hearth_net=info,hearth_app=info".into()),
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
            let profile = match cli.profile {
                Some(dir) => dir,
                None => directories::ProjectDirs::from("", "", "hearth")
                    .map(|dirs| dirs.data_dir().to_path_buf())
                    .ok_or_else(|| anyhow::anyhow!("no home directory; pass --profile DIR"))?,
            };
            hearth_app::run(hearth_app::AppOptions {
                profile_dir: profile,
                listen: cli.listen,
                mdns: !cli.no_mdns,
                notifications: true,
                dial: cli.dial,
                launched,
            })
            .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))?;
            Ok(())
        }
    }
}
