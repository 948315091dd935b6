//! `hearth`: the Hearth app and its command-line modes.
//!
//! `hearth headless --profile DIR` runs the engine with JSON lines on stdin and
//! stdout, for scripts, bots and end-to-end tests (see `docs/headless.md`).
//! `hearth relay --profile DIR` runs a relay the couple can host (see
//! `docs/relay.md`); `hearth mailbox --profile DIR` runs their mailbox (see
//! `docs/mailbox.md`).

mod desktop;
mod headless;
mod mailbox;
mod relay;
mod request;
mod restore;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Hearth: a private, peer-to-peer messenger for two.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The profile directory for the window (default: the platform's data directory,
    /// e.g. ~/.local/share/hearth). Use another to run two instances side by side.
    #[arg(long, global = false)]
    profile: Option<PathBuf>,
    #[command(flatten)]
    network: NetworkArgs,
    /// An address to connect to at start, e.g. a partner's device (repeatable).
    #[arg(long)]
    dial: Vec<String>,
    #[command(subcommand)]
    mode: Option<Mode>,
}

/// Where the device listens and how it finds its partner.
#[derive(Args, Clone, Debug)]
pub(crate) struct NetworkArgs {
    /// An address to listen on (repeatable); default: all interfaces, random ports.
    #[arg(long)]
    listen: Vec<String>,
    /// Do not use mDNS to find devices on the LAN.
    #[arg(long)]
    no_mdns: bool,
    /// A relay to keep a reservation on, e.g. one `hearth relay` printed (repeatable):
    /// /ip4/203.0.113.1/tcp/4001/p2p/12D3Koo…
    #[arg(long)]
    relay: Vec<String>,
    /// An extra DHT server for rendezvous records (repeatable); relays are DHT servers
    /// already.
    #[arg(long)]
    dht: Vec<String>,
    /// The local network only: no relays, DHT, AutoNAT or UPnP.
    #[arg(long)]
    no_internet: bool,
    /// Do not ask the router for a port mapping with UPnP.
    #[arg(long)]
    no_upnp: bool,
}

impl From<NetworkArgs> for hearth_node::NetworkOptions {
    fn from(args: NetworkArgs) -> hearth_node::NetworkOptions {
        hearth_node::NetworkOptions {
            listen: args.listen,
            mdns: !args.no_mdns,
            internet: !args.no_internet,
            relays: args.relay,
            dht: args.dht,
            upnp: !args.no_upnp,
        }
    }
}

#[derive(Subcommand)]
enum Mode {
    /// Runs the engine without a window: one JSON command per line on stdin, one
    /// JSON event per line on stdout, logs on stderr.
    Headless {
        /// The profile directory (created on first start).
        #[arg(long)]
        profile: PathBuf,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// Runs a relay for a couple (or a few): forwards their ciphertext when their
    /// routers keep them from connecting directly, helps them punch through, and
    /// keeps their sealed rendezvous records. Prints its addresses on stdout.
    Relay(relay::RelayArgs),
    /// Runs the couple's mailbox: keeps what one partner's device sends, sealed so
    /// the mailbox cannot read it, until the other's collects it. Prints its
    /// addresses and the invite the devices join with on stdout.
    Mailbox(mailbox::MailboxArgs),
    /// Puts Hearth in the desktop's application menu (a desktop entry and its icon,
    /// for this user); `--autostart` also starts it at login, `--remove` takes them
    /// away.
    InstallDesktop(desktop::DesktopArgs),
    /// Restores a backup into a new profile (the backup's passphrase from
    /// HEARTH_BACKUP_PASSPHRASE or the terminal; the new profile's from
    /// HEARTH_PASSPHRASE, else a key file).
    Restore(restore::RestoreArgs),
}

fn main() -> anyhow::Result<()> {
    let launched = std::time::Instant::now();
    let cli = Cli::parse();
    let filter = std::env::var("HEARTH_LOG")
        .unwrap_or_else(|_| "warn,hearth_node=info,hearth_net=info,hearth_app=info".into());
    // Kademlia warns that it cannot bootstrap whenever it has no servers yet (a
    // device without relays): expected here, not worth a warning.
    let filter = if filter.contains("libp2p_kad") {
        filter
    } else {
        format!("{filter},libp2p_kad=error")
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match cli.mode {
        Some(Mode::Headless { profile, network }) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let code = runtime.block_on(headless::run(profile, network))?;
            std::process::exit(code);
        }
        Some(Mode::Relay(args)) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(relay::run(args))
        }
        Some(Mode::Mailbox(args)) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(mailbox::run(args))
        }
        Some(Mode::InstallDesktop(args)) => desktop::run(args),
        Some(Mode::Restore(args)) => restore::run(args),
        None => {
            let profile = match cli.profile {
                Some(dir) => dir,
                None => directories::ProjectDirs::from("", "", "hearth")
                    .map(|dirs| dirs.data_dir().to_path_buf())
                    .ok_or_else(|| anyhow::anyhow!("no home directory; pass --profile DIR"))?,
            };
            hearth_app::run(hearth_app::AppOptions {
                profile_dir: profile,
                network: cli.network.into(),
                notifications: true,
                dial: cli.dial,
                launched,
                desktop: true,
            })
            .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))?;
            Ok(())
        }
    }
}
