//! `hearth relay`: runs a relay with an identity kept in its profile directory, and
//! prints each address it listens on (ending in `/p2p/<PeerId>`) on stdout, one per
//! line, for the couple to pass to `--relay` or paste into Settings. With
//! `--mailbox DIR` it runs the couple's mailbox beside it (lines `mailbox …`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hearth_node::relay::{RelayConfig, RelayEvent};

/// Options of `hearth relay`.
#[derive(Args, Debug)]
pub(crate) struct RelayArgs {
    /// The relay's profile directory: its identity lives there, so its address stays
    /// the same across restarts. Created on first start.
    #[arg(long)]
    profile: PathBuf,
    /// An address to listen on (repeatable); default: /ip4/0.0.0.0/tcp/4001 and
    /// /ip4/0.0.0.0/udp/4001/quic-v1.
    #[arg(long)]
    listen: Vec<String>,
    /// An address devices reach this relay at, when it is not a listen address (say,
    /// behind a port forward); repeatable.
    #[arg(long)]
    external: Vec<String>,
    /// How many bytes one relayed connection may carry each way before it is closed
    /// (the devices then open another).
    #[arg(long, default_value_t = 4 << 30)]
    max_circuit_bytes: u64,
    /// How many minutes one relayed connection may stay open.
    #[arg(long, default_value_t = 360)]
    max_circuit_minutes: u64,
    /// How many devices may hold a reservation at once.
    #[arg(long, default_value_t = 128)]
    max_reservations: usize,
    /// How many relayed connections may be open at once.
    #[arg(long, default_value_t = 64)]
    max_circuits: usize,
    /// Also run the couple's mailbox (see `hearth mailbox`), kept in this directory;
    /// its lines on stdout start with `mailbox `.
    #[arg(long)]
    mailbox: Option<PathBuf>,
    /// An address the mailbox listens on (repeatable); default: port 4002, TCP and
    /// QUIC, on every interface.
    #[arg(long)]
    mailbox_listen: Vec<String>,
    /// Make a new mailbox invite, whatever became of the last one.
    #[arg(long)]
    mailbox_new_invite: bool,
    /// An address devices reach the mailbox at when it is not a listen address
    /// (say, behind a port forward); repeatable. Listed first in its invite.
    #[arg(long)]
    mailbox_external: Vec<String>,
}

const KEY_FILE: &str = "relay.key";

/// The relay's identity: read from the profile, or made and written there (mode 0600).
fn identity(profile: &Path) -> anyhow::Result<[u8; 32]> {
    std::fs::create_dir_all(profile)
        .with_context(|| format!("could not create {}", profile.display()))?;
    let path = profile.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => bytes.try_into().map_err(|_| {
            anyhow::anyhow!(
                "{} is not a relay key (32 bytes); move it away to make a new one",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = hearth_node::relay::generate_identity();
            let tmp = profile.join(format!("{KEY_FILE}.tmp"));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&tmp)
                .with_context(|| format!("could not write {}", tmp.display()))?;
            file.write_all(&secret)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

pub(crate) async fn run(args: RelayArgs) -> anyhow::Result<()> {
    let secret = identity(&args.profile)?;
    let mut config = RelayConfig::new(secret, args.listen);
    config.external = args.external;
    config.max_circuit_bytes = args.max_circuit_bytes;
    config.max_circuit_duration = Duration::from_secs(args.max_circuit_minutes * 60);
    config.max_reservations = args.max_reservations;
    config.max_circuits = args.max_circuits;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // The mailbox beside it, if asked for: both stop on the same Ctrl-C.
    let mailbox = async {
        let Some(dir) = args.mailbox else {
            return Ok(());
        };
        let mut mailbox = hearth_node::mailbox::MailboxConfig::new(dir);
        mailbox.network.listen = if args.mailbox_listen.is_empty() {
            vec![
                "/ip4/0.0.0.0/tcp/4002".into(),
                "/ip4/0.0.0.0/udp/4002/quic-v1".into(),
            ]
        } else {
            args.mailbox_listen
        };
        // On the relay's own host, it is reached directly.
        mailbox.network.internet = false;
        mailbox.new_invite = args.mailbox_new_invite;
        mailbox.external = args.mailbox_external;
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::mailbox::serve(mailbox, "mailbox ", stop).await
    };
    let relay = hearth_node::relay::serve(
        config,
        |event| match event {
            RelayEvent::Address(addr) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{addr}");
                let _ = out.flush();
            }
        },
        stop,
    );
    // Either failing to start stops both.
    tokio::try_join!(async { relay.await.map_err(anyhow::Error::from) }, mailbox)?;
    eprintln!("relay stopped");
    Ok(())
}
