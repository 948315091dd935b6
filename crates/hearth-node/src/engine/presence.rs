//! Presence and the network: starting it where this device listened last time,
//! every [`NetEvent`] (handed on to the room it is for), who is connected, whether
//! the partner is online, and redialling the partner with backoff while apart.
//!
//! Owns [`Presence`]. Tells the sync room when the partner comes and goes, the
//! pairing room about streams and nearby devices, the files room about file
//! streams, and the internet room about routes and records.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hearth_core::DeviceId;
use hearth_net::{Net, NetConfig, NetEvent, Policy, Protocol};
use hearth_store::Store;
use tokio::sync::mpsc;

use super::{Engine, SETTING_PARTNER, internet};
use crate::types::*;
use crate::{NodeConfig, Reply};

/// Longest wait between attempts to reach the partner.
const MAX_REDIAL: Duration = Duration::from_secs(30);
pub(super) const MAX_REMEMBERED_ADDRS: usize = 16;
const SETTING_PORTS: &str = "listen-ports";
/// Where to listen when not told: every interface, TCP and QUIC, any port.
const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

/// What a handle can ask of the network.
pub(crate) enum NetworkCommand {
    Dial(String, Reply<()>),
    SetNetwork {
        internet: bool,
        relays: Vec<String>,
        reply: Reply<Status>,
    },
}

/// The presence room's state.
pub(crate) struct Presence {
    /// Whether the partner is connected.
    pub(super) online: bool,
    /// Every device connected now.
    pub(super) connected: HashSet<DeviceId>,
    /// Where this device listens, as the network reported it.
    pub(super) listen: Vec<String>,
    redial_at: Instant,
    redial_delay: Duration,
}

impl Default for Presence {
    fn default() -> Presence {
        Presence {
            online: false,
            connected: HashSet::new(),
            listen: Vec::new(),
            redial_at: Instant::now(),
            redial_delay: Duration::from_secs(1),
        }
    }
}

impl Presence {
    /// A sign the partner may be reachable now: dial at the next tick, and from
    /// there back off again.
    pub(super) fn redial_soon(&mut self) {
        if !self.online {
            self.redial_at = Instant::now();
            self.redial_delay = Duration::from_secs(1);
        }
    }

    /// The network restarted: nothing is connected or listening.
    pub(super) fn reset(&mut self) {
        let online = self.online;
        *self = Presence::default();
        self.online = online;
    }
}

/// The ports this device got last time it listened on "any port".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ListenPorts {
    tcp: Option<u16>,
    udp: Option<u16>,
}

impl ListenPorts {
    /// `wanted` with each "any port" (`/tcp/0`, `/udp/0`) replaced by the port
    /// remembered for it.
    fn apply(&self, wanted: &[String]) -> Vec<String> {
        wanted
            .iter()
            .map(|addr| {
                let mut addr = addr.clone();
                if let Some(port) = self.tcp {
                    addr = replace_port(&addr, "tcp", port);
                }
                if let Some(port) = self.udp {
                    addr = replace_port(&addr, "udp", port);
                }
                addr
            })
            .collect()
    }

    /// Takes the port of a listen address; true if anything changed.
    fn learn(&mut self, addr: &str) -> bool {
        let parts: Vec<&str> = addr.split('/').collect();
        let mut changed = false;
        for pair in parts.windows(2) {
            let (slot, port) = match pair {
                ["tcp", port] => (&mut self.tcp, port),
                ["udp", port] => (&mut self.udp, port),
                _ => continue,
            };
            if let Ok(port) = port.parse::<u16>()
                && port != 0
                && *slot != Some(port)
            {
                *slot = Some(port);
                changed = true;
            }
        }
        changed
    }
}

/// Replaces `/proto/0/` (or a trailing `/proto/0`) in a multiaddr with `port`.
fn replace_port(addr: &str, proto: &str, port: u16) -> String {
    let any = format!("/{proto}/0");
    match addr.find(&any) {
        Some(at)
            if addr[at + any.len()..].is_empty() || addr[at + any.len()..].starts_with('/') =>
        {
            format!("{}/{proto}/{port}{}", &addr[..at], &addr[at + any.len()..])
        }
        _ => addr.to_string(),
    }
}

/// Starts the network: where this device listened last time (so the partner's
/// remembered addresses stay good across restarts; a port taken meanwhile falls back
/// to a random one), with the relays and DHT servers in use, the gate set to the
/// partner.
pub(super) async fn start_net(
    config: &NodeConfig,
    store: &Store,
    identity: [u8; 32],
    internet: &internet::Internet,
    partner: Option<&Partner>,
    mailbox: Option<DeviceId>,
) -> Result<(Net, mpsc::Receiver<NetEvent>), NodeError> {
    let wanted = if config.network.listen.is_empty() {
        DEFAULT_LISTEN.iter().map(|a| a.to_string()).collect()
    } else {
        config.network.listen.clone()
    };
    let ports: ListenPorts = store.setting(SETTING_PORTS)?.unwrap_or_default();
    let net_config = |listen: Vec<String>| NetConfig {
        identity_secret: identity,
        network: internet.in_effect(&config.network, listen),
        mdns_query_interval: Duration::from_secs(1),
        // The gate is shut to strangers from the first moment, not from the first
        // command: a restart of the network must not open it.
        policy: Policy::device(partner.map(|p| p.device), mailbox),
    };
    let (net, net_events) = match hearth_net::spawn(net_config(ports.apply(&wanted))) {
        Ok(started) => started,
        Err(e) if ports != ListenPorts::default() => {
            tracing::info!(error = %e, "last session's ports are taken; listening on new ones");
            hearth_net::spawn(net_config(wanted))?
        }
        Err(e) => return Err(e.into()),
    };
    Ok((net, net_events))
}

impl Engine {
    pub(super) async fn on_network_command(&mut self, command: NetworkCommand) {
        match command {
            NetworkCommand::Dial(addr, reply) => {
                let result = self
                    .net
                    .dial(None, vec![addr])
                    .await
                    .map_err(NodeError::from);
                let _ = reply.send(result);
            }
            NetworkCommand::SetNetwork {
                internet,
                relays,
                reply,
            } => {
                let result = self.set_network(internet, relays).await;
                let _ = reply.send(result.map(|()| self.status()));
            }
        }
    }

    pub(super) async fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening { addr } => {
                self.presence.listen.push(addr.clone());
                self.remember_port(&addr);
                self.answer_waiting_invites();
                self.emit(NodeEvent::Listening(addr)).await;
            }
            NetEvent::Connected { peer, .. } => {
                self.presence.connected.insert(peer);
                if self.partner.is_none() && self.notice_for(peer) {
                    self.send_notice();
                }
                if self.partner.as_ref().is_some_and(|p| p.device == peer) {
                    self.partner_online().await;
                }
            }
            NetEvent::Route { peer, route } => self.on_route(peer, route).await,
            NetEvent::Reachable { addrs } => self.on_reachable(addrs).await,
            NetEvent::Found { key, value } => self.on_found(&key, &value),
            NetEvent::Disconnected { peer } => {
                self.presence.connected.remove(&peer);
                if self.partner.as_ref().is_some_and(|p| p.device == peer) {
                    self.partner_offline().await;
                }
            }
            NetEvent::Addresses {
                peer,
                addrs,
                nearby,
            } => self.on_addresses(peer, addrs, nearby),
            NetEvent::Incoming {
                peer,
                protocol,
                stream,
            } => match protocol {
                Protocol::Pair => self.incoming_pairing(peer, stream),
                Protocol::Sync if self.partner.is_none() => self.answer_notice(stream),
                Protocol::Sync | Protocol::File
                    if self.partner.as_ref().is_none_or(|p| p.device != peer) => {}
                Protocol::Sync => self.incoming_sync(stream),
                Protocol::File => self.serve_file(stream),
                // A device asks its mailbox; it answers no mailbox itself.
                Protocol::Mailbox => {}
            },
        }
    }

    /// Addresses a device is known at: remembered for the partner (for redialling),
    /// kept for pairing if it is an unpaired device nearby.
    fn on_addresses(&mut self, peer: DeviceId, addrs: Vec<String>, nearby: bool) {
        let Some(partner) = &mut self.partner else {
            if nearby {
                self.pairing.nearby.insert(peer, addrs);
            }
            return;
        };
        if partner.device != peer {
            return;
        }
        self.remember_partner_addrs(addrs);
        if nearby {
            self.presence.redial_soon();
        }
    }

    /// Puts `addrs` first among the partner's remembered addresses (at most
    /// [`MAX_REMEMBERED_ADDRS`]), and saves them if that changed anything.
    pub(super) fn remember_partner_addrs(&mut self, addrs: Vec<String>) {
        let Some(partner) = &mut self.partner else {
            return;
        };
        // Whatever the source (the partner, the DHT, the LAN), an address too long
        // to be one is not kept: the remembered ones are a small setting.
        let mut merged: Vec<String> = addrs
            .into_iter()
            .filter(|a| a.len() <= hearth_core::wire::MAX_ADDR_TEXT)
            .collect();
        merged.extend(partner.addrs.iter().cloned());
        let mut seen = HashSet::new();
        merged.retain(|a| seen.insert(a.clone()));
        merged.truncate(MAX_REMEMBERED_ADDRS);
        if merged != partner.addrs {
            partner.addrs = merged;
            let partner = partner.clone();
            if let Err(e) = self.store.set_setting(SETTING_PARTNER, &partner) {
                tracing::warn!(error = %e, "could not remember the partner's addresses");
            }
        }
    }

    /// Remembers the port of a new listen address, for the next start.
    fn remember_port(&mut self, addr: &str) {
        let mut ports: ListenPorts = match self.store.setting(SETTING_PORTS) {
            Ok(ports) => ports.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the remembered ports");
                return;
            }
        };
        if ports.learn(addr)
            && let Err(e) = self.store.set_setting(SETTING_PORTS, &ports)
        {
            tracing::warn!(error = %e, "could not remember the listen ports");
        }
    }

    pub(super) async fn partner_online(&mut self) {
        if !self.presence.online {
            self.presence.online = true;
            self.presence.redial_delay = Duration::from_secs(1);
            self.emit(NodeEvent::Presence { online: true }).await;
        }
        self.sync_connected().await;
        // A file coming through the mailbox goes on directly, from where it is.
        self.close_mailbox_writer();
        self.start_downloads();
    }

    /// The partner's last connection closed, or the network restarted.
    pub(super) async fn partner_offline(&mut self) {
        self.sync_disconnected();
        if self.presence.online {
            self.presence.online = false;
            self.emit(NodeEvent::Presence { online: false }).await;
        }
    }

    /// Each tick: a session for an online partner that lost its own, or a redial
    /// (with backoff) of a partner who is away.
    pub(super) async fn maintain_presence(&mut self) {
        let Some(partner) = &self.partner else {
            return;
        };
        if self.presence.online {
            self.sync_connected().await;
            return;
        }
        if Instant::now() >= self.presence.redial_at && !partner.addrs.is_empty() {
            let (device, addrs) = (partner.device, partner.addrs.clone());
            if let Err(e) = self.net.dial(Some(device), addrs).await {
                tracing::debug!(error = %e, "could not dial the partner");
            }
            let presence = &mut self.presence;
            presence.redial_at = Instant::now() + presence.redial_delay;
            presence.redial_delay = (presence.redial_delay * 2).min(MAX_REDIAL);
        }
    }
}
