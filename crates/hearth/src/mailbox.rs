//! `hearth mailbox`: runs the couple's mailbox with everything kept in its profile
//! directory, and prints on stdout, one per line, each address it listens on
//! (`listening <addr>`), the invite the couple's devices join with
//! (`invite <hearth-mailbox:…> <expires, ms since the epoch>`, or `invite none`
//! once it is used up or expired), the devices that joined earlier (`member <peer
//! id>`, at start), and each device that joins (`joined <peer id>`) or leaves or is
//! forgotten (`left <peer id>`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use hearth_node::mailbox::{MailboxConfig, MailboxEvent};

/// Options of `hearth mailbox`.
#[derive(Args, Debug)]
pub(crate) struct MailboxArgs {
    /// The mailbox's directory: its identity, invite, devices and letters. Created on
    /// first start.
    #[arg(long)]
    profile: PathBuf,
    /// An address to listen on (repeatable); default: /ip4/0.0.0.0/tcp/4002 and
    /// /ip4/0.0.0.0/udp/4002/quic-v1.
    #[arg(long)]
    listen: Vec<String>,
    /// A relay to be reachable through when the devices cannot dial this machine
    /// (repeatable).
    #[arg(long)]
    relay: Vec<String>,
    /// How many hours a new invite stays valid.
    #[arg(long, default_value_t = 24)]
    invite_hours: u64,
    /// Make a new invite, whatever became of the last one. Without it, an invite is
    /// made only on the first start.
    #[arg(long)]
    new_invite: bool,
    /// How many devices a new invite lets join.
    #[arg(long, default_value_t = 2)]
    devices: u32,
    /// A device to forget, with every letter kept for it (its peer id, as `member`
    /// lines show it; repeatable): a lost device, or a former partner's.
    #[arg(long)]
    forget: Vec<String>,
    /// How many MiB of letters the mailbox keeps for one device at most.
    #[arg(long, default_value_t = 2048)]
    quota_mib: u64,
    /// An address devices reach the mailbox at when it is not a listen address
    /// (say, behind a port forward); repeatable. Listed first in the invite.
    #[arg(long)]
    external: Vec<String>,
}

pub(crate) async fn run(args: MailboxArgs) -> anyhow::Result<()> {
    let mut config = MailboxConfig::new(args.profile);
    config.network.listen = if args.listen.is_empty() {
        vec![
            "/ip4/0.0.0.0/tcp/4002".into(),
            "/ip4/0.0.0.0/udp/4002/quic-v1".into(),
        ]
    } else {
        args.listen
    };
    config.network.internet = !args.relay.is_empty();
    config.network.relays = args.relay;
    config.invite_ttl = Duration::from_secs(args.invite_hours.saturating_mul(3600));
    config.new_invite = args.new_invite;
    config.devices = args.devices;
    config.forget = args.forget;
    config.quota_bytes = args.quota_mib.saturating_mul(1024 * 1024);
    config.external = args.external;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(config, "", stop).await?;
    eprintln!("mailbox stopped");
    Ok(())
}

/// Runs a mailbox until `stop`, printing what it reports on stdout, each line after
/// `prefix` (`hearth relay --mailbox` prints `mailbox `).
pub(crate) async fn serve(
    config: MailboxConfig,
    prefix: &'static str,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    hearth_node::mailbox::serve(
        config,
        move |event| {
            let line = match event {
                MailboxEvent::Listening(addr) => format!("listening {addr}"),
                MailboxEvent::Invite(Some((code, expires))) => format!("invite {code} {expires}"),
                MailboxEvent::Invite(None) => {
                    eprintln!(
                        "the mailbox invite is used up or expired; start with --new-invite for a new one"
                    );
                    "invite none".into()
                }
                MailboxEvent::Joined(peer) => format!("joined {peer}"),
                MailboxEvent::Left(peer) => format!("left {peer}"),
                MailboxEvent::Member(peer) => format!("member {peer}"),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{prefix}{line}");
            let _ = out.flush();
        },
        stop,
    )
    .await?;
    Ok(())
}
