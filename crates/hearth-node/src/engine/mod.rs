//! The engine actor: one `select!` over commands, network events, the partner's sync
//! frames, pairing results and a reconnect tick.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hearth_core::wire::SyncFrame;
use hearth_core::{DeviceId, Message, Op, OpBody, OpId, ProfileChange};
use hearth_crypto::{Invite, StaticKeypair};
use hearth_net::{Net, NetConfig, NetEvent, Policy, Protocol};
use hearth_store::{KeyProtection, Store};
use rand::RngCore;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

mod files;
mod internet;

pub(crate) use files::Prepared;
pub use files::{human_size, mime_for};

use crate::pairing::{self, PairFail, PairOutcome, PairSetup, Refusal, Responded};
use crate::sync;
use crate::types::*;
use crate::{Command, NodeConfig, Reply};

/// Ops per sync frame. Small enough that one frame stays far below the frame limit
/// even at the longest texts, large enough that a 10k catch-up is a few dozen writes.
const BATCH_OPS: usize = 128;
/// Frames queued for the writer before the engine waits for it to catch up.
const WRITER_QUEUE: usize = 16;
/// Wrong codes an invite or nearby code survives.
const MAX_PAIRING_FAILURES: u32 = 3;
/// Longest wait between attempts to reach the partner.
const MAX_REDIAL: Duration = Duration::from_secs(30);
const MAX_REMEMBERED_ADDRS: usize = 16;
/// How long an invite waits for the network to report an address to put in it.
const INVITE_ADDRESS_WAIT: Duration = Duration::from_secs(5);

const SETTING_IDENTITY: &str = "identity";
const SETTING_STATIC: &str = "noise-static";
const SETTING_PROFILE: &str = "profile";
const SETTING_PARTNER: &str = "partner";
const SETTING_PORTS: &str = "listen-ports";
const SETTING_RELAYS: &str = "relays";

/// Where to listen when not told: every interface, TCP and QUIC, any port.
const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

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

/// What spawned tasks tell the engine.
pub(crate) enum Internal {
    Frame(SyncFrame),
    Violation(String),
    Wrote {
        session: u64,
    },
    WriterClosed {
        session: u64,
    },
    Initiated {
        result: Result<PairOutcome, PairFail>,
        addrs: Vec<String>,
        reply: Reply<PairedInfo>,
    },
    Responded(Responded),
    Progress {
        id: OpId,
        done: u64,
        total: u64,
        incoming: bool,
    },
    DownloadEnded {
        id: OpId,
        result: Result<crate::transfer::Downloaded, crate::transfer::DownloadError>,
    },
    Prepared {
        result: Result<Prepared, NodeError>,
        reply: Reply<MessageView>,
    },
    FileRead {
        id: OpId,
        result: Result<Vec<u8>, NodeError>,
        reply: Reply<Vec<u8>>,
    },
}

/// A code this device is showing: an invite's secret or six digits.
struct Offer {
    code: Vec<u8>,
    expires_at_ms: i64,
    failures: u32,
    /// Six digits on screen, rather than an invite.
    nearby: bool,
}

/// The live link to the partner: our writer's queue and how far it has sent.
struct Session {
    id: u64,
    frames: mpsc::Sender<SyncFrame>,
    sent_up_to: u64,
}

pub(crate) struct Engine {
    config: NodeConfig,
    store: Store,
    net: Net,
    net_events: mpsc::Receiver<NetEvent>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NodeEvent>,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    tasks: JoinSet<()>,
    me: DeviceId,
    static_key: StaticKeypair,
    profile: Option<Profile>,
    partner: Option<Partner>,
    online: bool,
    session: Option<Session>,
    next_session: u64,
    ack_pending: bool,
    offer: Option<Offer>,
    responding: bool,
    initiating: bool,
    nearby: HashMap<DeviceId, Vec<String>>,
    connected: HashSet<DeviceId>,
    listen: Vec<String>,
    redial_at: Instant,
    redial_delay: Duration,
    /// Invites asked for before the network reported an address to put in them.
    waiting_invites: Vec<(Instant, Reply<InviteInfo>)>,
    files: files::Files,
    internet: internet::Internet,
}

/// Starts the network: where this device listened last time (so the partner's
/// remembered addresses stay good across restarts; a port taken meanwhile falls back
/// to a random one), with the relays and DHT servers in use, the gate set to the
/// partner.
async fn start_net(
    config: &NodeConfig,
    store: &Store,
    identity: [u8; 32],
    internet: &internet::Internet,
    partner: Option<&Partner>,
) -> Result<(Net, mpsc::Receiver<NetEvent>), NodeError> {
    let wanted = if config.listen.is_empty() {
        DEFAULT_LISTEN.iter().map(|a| a.to_string()).collect()
    } else {
        config.listen.clone()
    };
    let ports: ListenPorts = store.setting(SETTING_PORTS)?.unwrap_or_default();
    let net_config = |listen: Vec<String>| NetConfig {
        identity_secret: identity,
        listen,
        mdns: config.mdns,
        mdns_query_interval: Duration::from_secs(1),
        relays: internet.relays_in_use(),
        dht: internet.dht_in_use(),
        upnp: internet.upnp(),
    };
    let (net, net_events) = match hearth_net::spawn(net_config(ports.apply(&wanted))) {
        Ok(started) => started,
        Err(e) if ports != ListenPorts::default() => {
            tracing::info!(error = %e, "last session's ports are taken; listening on new ones");
            hearth_net::spawn(net_config(wanted))?
        }
        Err(e) => return Err(e.into()),
    };
    net.set_policy(Policy {
        partner: partner.map(|p| p.device),
    })
    .await?;
    Ok((net, net_events))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Engine {
    pub(crate) async fn start(
        config: NodeConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NodeEvent>,
    ) -> Result<(), NodeError> {
        let dir = &config.profile_dir;
        let passphrase = config.passphrase.as_deref();
        let store = if Store::exists(dir) {
            Store::open(dir, passphrase)?
        } else {
            Store::create(dir, passphrase)?
        };
        let identity: [u8; 32] = match store.setting(SETTING_IDENTITY)? {
            Some(secret) => secret,
            None => {
                let secret = hearth_net::generate_identity();
                store.set_setting(SETTING_IDENTITY, &secret)?;
                secret
            }
        };
        let static_key = match store.setting::<([u8; 32], [u8; 32])>(SETTING_STATIC)? {
            Some((private, public)) => StaticKeypair {
                private: private.into(),
                public,
            },
            None => {
                let key =
                    StaticKeypair::generate().map_err(|e| NodeError::Invalid(e.to_string()))?;
                store.set_setting(SETTING_STATIC, &(*key.private, key.public))?;
                key
            }
        };
        store.flush()?;
        let profile = store.setting::<Profile>(SETTING_PROFILE)?;
        let partner = store.setting::<Partner>(SETTING_PARTNER)?;

        let internet = internet::Internet::new(&config, &store, &static_key, partner.as_ref())?;
        let (net, net_events) =
            start_net(&config, &store, identity, &internet, partner.as_ref()).await?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let files = files::Files::new(store.blobs(), &config.faults);
        let mut engine = Engine {
            me: net.local(),
            config,
            store,
            net,
            net_events,
            commands,
            events,
            internal_tx,
            internal_rx,
            tasks: JoinSet::new(),
            static_key,
            profile,
            partner,
            online: false,
            session: None,
            next_session: 0,
            ack_pending: false,
            offer: None,
            responding: false,
            initiating: false,
            nearby: HashMap::new(),
            connected: HashSet::new(),
            listen: Vec::new(),
            redial_at: Instant::now(),
            redial_delay: Duration::from_secs(1),
            waiting_invites: Vec::new(),
            files,
            internet,
        };
        engine.load_files();
        tracing::info!(device = %engine.me, "engine started");
        tokio::spawn(engine.run());
        Ok(())
    }

    async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let done = loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(done)) => break Some(done),
                    Some(command) => self.on_command(command).await,
                    None => break None,
                },
                Some(event) = self.net_events.recv() => self.on_net(event).await,
                Some(message) = self.internal_rx.recv() => self.on_internal(message).await,
                // Drain finished tasks so the set does not grow.
                Some(_) = self.tasks.join_next() => {}
                _ = tick.tick() => self.maintain().await,
            }
        };
        self.tasks.shutdown().await;
        if let Err(e) = self.store.flush() {
            tracing::warn!(error = %e, "could not flush the store on shutdown");
        }
        self.net.shutdown().await;
        // Everything goes before the caller hears the profile is free: the store,
        // the file store sharing its database, and any queued message holding a
        // handle on it.
        drop(self);
        tracing::info!("engine stopped");
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    async fn emit(&self, event: NodeEvent) {
        if self.events.send(event).await.is_ok()
            && let Some(wake) = &self.config.on_event
        {
            wake();
        }
    }

    // ----- commands -------------------------------------------------------------

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Init(profile, reply) => {
                let result = self.init(profile);
                let _ = reply.send(result.map(|()| self.status()));
            }
            Command::Status(reply) => {
                let _ = reply.send(Ok(self.status()));
            }
            Command::Invite(reply) => {
                // An invite without an address is useless to the partner: right after
                // start, wait for the first listen address.
                if !self.ready_to_invite() && self.ready_to_pair().is_ok() {
                    self.waiting_invites.push((Instant::now(), reply));
                } else {
                    let result = self.make_invite();
                    let _ = reply.send(result);
                }
            }
            Command::NearbyCode(reply) => {
                let result = self.ready_to_pair().map(|()| {
                    let code = hearth_crypto::nearby_code();
                    self.offer = Some(Offer {
                        code: code.as_bytes().to_vec(),
                        expires_at_ms: now_ms() + self.config.nearby_code_ttl.as_millis() as i64,
                        failures: 0,
                        nearby: true,
                    });
                    code
                });
                let _ = reply.send(result);
            }
            Command::NearbyDevices(reply) => {
                if self.partner.is_some() {
                    let _ = reply.send(Ok(Vec::new()));
                    return;
                }
                let candidates = self.pairing_candidates();
                let net = self.net.clone();
                self.tasks.spawn(async move {
                    let mut waiting = Vec::new();
                    for (device, addrs) in candidates {
                        if !addrs.is_empty() {
                            let _ = net.dial(Some(device), addrs).await;
                        }
                        if let Ok((name, true)) = pairing::probe(&net, device).await {
                            waiting.push(name);
                        }
                    }
                    let _ = reply.send(Ok(waiting));
                });
            }
            Command::Pair(code, reply) => self.pair(code, reply).await,
            Command::Dial(addr, reply) => {
                let result = self
                    .net
                    .dial(None, vec![addr])
                    .await
                    .map_err(NodeError::from);
                let _ = reply.send(result);
            }
            Command::Send {
                text,
                reply_to,
                reply,
            } => {
                let result = self.send_text(text, reply_to).await;
                let _ = reply.send(result);
            }
            Command::React {
                id,
                emoji,
                remove,
                reply,
            } => {
                let result = match self.find(&id) {
                    Ok(message) => {
                        let target = message.op.id;
                        let body = if remove {
                            OpBody::ReactionRemove { target, emoji }
                        } else {
                            OpBody::ReactionAdd { target, emoji }
                        };
                        self.write(body).await.map(drop)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::Edit { id, text, reply } => {
                let result = match self.find_mine(&id) {
                    Ok(target) => self.write(OpBody::Edit { target, text }).await.map(drop),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::Delete(id, reply) => {
                let result = match self.find_mine(&id) {
                    Ok(target) => self.write(OpBody::Delete { target }).await.map(drop),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::Read(up_to, reply) => {
                let result = self.mark_read(&up_to).await;
                let _ = reply.send(result);
            }
            Command::History {
                limit,
                before,
                reply,
            } => {
                let _ = reply.send(self.history(limit, before));
            }
            Command::Typing(reply) => {
                if let Some(session) = &self.session {
                    let _ = session.frames.try_send(SyncFrame::Typing);
                }
                let _ = reply.send(Ok(()));
            }
            Command::SetNetwork {
                internet,
                relays,
                reply,
            } => {
                let result = self.set_network(internet, relays).await;
                let _ = reply.send(result.map(|()| self.status()));
            }
            Command::ChangePassphrase(passphrase, reply) => {
                let passphrase = passphrase.filter(|p| !p.is_empty());
                let result = self
                    .store
                    .change_passphrase(passphrase.as_deref())
                    .map(|()| self.status())
                    .map_err(NodeError::from);
                let _ = reply.send(result);
            }
            Command::AppSetting(name, reply) => {
                let result = self.store.setting::<String>(&format!("app:{name}"));
                let _ = reply.send(result.map_err(NodeError::from));
            }
            Command::SetAppSetting(name, value, reply) => {
                let result = if value.len() > 64 * 1024 {
                    Err(NodeError::Invalid("setting too long".into()))
                } else {
                    self.store
                        .set_setting(&format!("app:{name}"), &value)
                        .map_err(NodeError::from)
                };
                let _ = reply.send(result);
            }
            Command::SendFile { .. }
            | Command::SaveFile { .. }
            | Command::OpenFile(..)
            | Command::PauseDownload(..)
            | Command::Memories { .. } => self.on_file_command(command).await,
            Command::Shutdown(_) => {}
        }
    }

    fn init(&mut self, profile: Profile) -> Result<(), NodeError> {
        let name = profile.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(NodeError::Invalid(
                "a name of 1 to 64 characters, please".into(),
            ));
        }
        if !matches!(profile.language.as_str(), "en" | "sq") {
            return Err(NodeError::Invalid("language must be en or sq".into()));
        }
        if jiff::tz::TimeZone::get(&profile.time_zone).is_err() {
            return Err(NodeError::Invalid(format!(
                "unknown time zone {}",
                profile.time_zone
            )));
        }
        let profile = Profile { name, ..profile };
        self.store.set_setting(SETTING_PROFILE, &profile)?;
        self.store.flush()?;
        let changed = self.profile.as_ref() != Some(&profile);
        self.profile = Some(profile.clone());
        if changed && self.partner.is_some() {
            let body = OpBody::Profile(ProfileChange {
                name: Some(profile.name),
                language: Some(profile.language),
                time_zone: Some(profile.time_zone),
            });
            let op = self.store.append_local(self.me, now_ms(), body)?;
            self.store.flush()?;
            tracing::debug!(seq = op.id.seq, "profile change queued for the partner");
            self.pump();
        }
        Ok(())
    }

    fn status(&self) -> Status {
        Status {
            peer_id: hearth_net::peer_id_text(self.me).unwrap_or_default(),
            listen: self.listen.clone(),
            paired: self.partner.is_some(),
            partner: self.partner.as_ref().map(|p| p.profile.clone()),
            online: self.online,
            profile: self.profile.clone(),
            key_protection: match self.store.key_protection() {
                KeyProtection::Passphrase => "passphrase",
                KeyProtection::KeyFile => "key_file",
            },
            safety_words: self
                .partner
                .as_ref()
                .map(|p| p.safety_words.clone())
                .unwrap_or_default(),
            connection: self.internet.connection,
            internet: self.internet.on,
            relays: self.internet.relays.clone(),
            dht: self.internet.dht.clone(),
        }
    }

    fn ready_to_pair(&self) -> Result<(), NodeError> {
        if self.partner.is_some() {
            return Err(NodeError::AlreadyPaired);
        }
        if self.profile.is_none() {
            return Err(NodeError::NoProfile);
        }
        Ok(())
    }

    fn make_invite(&mut self) -> Result<InviteInfo, NodeError> {
        self.ready_to_pair()?;
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        let expires_at_ms = now_ms() + self.config.invite_ttl.as_millis() as i64;
        let suffix = format!("/p2p/{}", hearth_net::peer_id_text(self.me)?);
        // Circuits on relays first: they are what reaches across the world.
        let mut listen = self.listen.clone();
        listen.sort_by_key(|a| hearth_net::relay_of(a).is_none());
        let addrs = listen
            .iter()
            .filter_map(|a| hearth_net::addr_to_bytes(a.strip_suffix(&suffix).unwrap_or(a)).ok())
            .take(8)
            .collect();
        let invite = Invite {
            peer: hearth_net::peer_id_bytes(self.me)?,
            addrs,
            secret,
            expires_at_ms,
        };
        self.offer = Some(Offer {
            code: secret.to_vec(),
            expires_at_ms,
            failures: 0,
            nearby: false,
        });
        Ok(InviteInfo {
            code: invite.to_text(),
            qr_bytes: invite.to_bytes(),
            expires_at: expires_at_ms,
        })
    }

    async fn pair(&mut self, code: String, reply: Reply<PairedInfo>) {
        if let Err(e) = self.ready_to_pair() {
            let _ = reply.send(Err(e));
            return;
        }
        if self.initiating {
            let _ = reply.send(Err(NodeError::Pairing("already pairing".into())));
            return;
        }
        let Some(profile) = self.profile.clone() else {
            let _ = reply.send(Err(NodeError::NoProfile));
            return;
        };
        let code = code.trim().to_string();
        let net = self.net.clone();
        let internal = self.internal_tx.clone();
        let me = self.me;
        let static_key = self.static_key.clone();

        if code.starts_with("hearth:") {
            let invite = match Invite::from_text(&code) {
                Ok(invite) => invite,
                Err(e) => {
                    let _ = reply.send(Err(NodeError::Pairing(e.to_string())));
                    return;
                }
            };
            if invite.expires_at_ms < now_ms() {
                let _ = reply.send(Err(NodeError::Pairing(PairFail::Expired.to_string())));
                return;
            }
            let Ok(them) = hearth_net::device_from_peer_bytes(&invite.peer) else {
                let _ = reply.send(Err(NodeError::Pairing("the invite names no device".into())));
                return;
            };
            if them == me {
                let _ = reply.send(Err(NodeError::Pairing(
                    "this is your own invite; send it to your partner".into(),
                )));
                return;
            }
            let addrs: Vec<String> = invite
                .addrs
                .iter()
                .filter_map(|a| hearth_net::addr_from_bytes(a).ok())
                .collect();
            if addrs.is_empty() {
                let _ = reply.send(Err(NodeError::Pairing(
                    "the invite has no address to reach your partner at; ask for a new one".into(),
                )));
                return;
            }
            if let Err(e) = self.net.dial(Some(them), addrs.clone()).await {
                let _ = reply.send(Err(e.into()));
                return;
            }
            self.initiating = true;
            let setup = PairSetup {
                code: invite.secret.to_vec(),
                me,
                them,
                static_key,
                profile,
                showing_code: false,
            };
            self.tasks.spawn(async move {
                let result = pairing::initiate(net, setup).await;
                let _ = internal
                    .send(Internal::Initiated {
                        result,
                        addrs,
                        reply,
                    })
                    .await;
            });
        } else if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            // Nearby: ask each device found here whether it is waiting, and pair
            // with the first that is.
            let candidates = self.pairing_candidates();
            self.initiating = true;
            self.tasks.spawn(async move {
                let mut result = Err(PairFail::NotPairing);
                let mut used_addrs = Vec::new();
                for (them, addrs) in candidates {
                    if !addrs.is_empty() {
                        let _ = net.dial(Some(them), addrs.clone()).await;
                    }
                    // Only a device showing six digits: trying a code against one that
                    // sent an invite would spend one of the invite's three tries.
                    match pairing::probe(&net, them).await {
                        Ok((name, true)) => {
                            tracing::debug!(%name, "found a device waiting to pair");
                            let setup = PairSetup {
                                code: code.as_bytes().to_vec(),
                                me,
                                them,
                                static_key: static_key.clone(),
                                profile: profile.clone(),
                                showing_code: false,
                            };
                            result = pairing::initiate(net.clone(), setup).await;
                            used_addrs = addrs;
                            break;
                        }
                        Ok((_, false)) => tracing::debug!("device has an invite open, not a code"),
                        Err(e) => tracing::debug!(error = %e, "device not waiting to pair"),
                    }
                }
                let _ = internal
                    .send(Internal::Initiated {
                        result,
                        addrs: used_addrs,
                        reply,
                    })
                    .await;
            });
        } else {
            let _ = reply.send(Err(NodeError::Invalid(
                "enter the six digits, or paste the whole invite".into(),
            )));
        }
    }

    /// Every device found on this network by mDNS, or already connected, that is not
    /// this one: who a six-digit code could be for.
    fn pairing_candidates(&self) -> Vec<(DeviceId, Vec<String>)> {
        let mut candidates: Vec<(DeviceId, Vec<String>)> =
            self.nearby.iter().map(|(d, a)| (*d, a.clone())).collect();
        for device in &self.connected {
            if !self.nearby.contains_key(device) {
                candidates.push((*device, Vec::new()));
            }
        }
        candidates
    }

    async fn complete_pairing(
        &mut self,
        outcome: PairOutcome,
        addrs: Vec<String>,
    ) -> Result<PairedInfo, NodeError> {
        let mut known = addrs;
        if let Some(found) = self.nearby.get(&outcome.partner) {
            known.extend(found.iter().cloned());
        }
        known.dedup();
        let partner = Partner {
            device: outcome.partner,
            profile: outcome.partner_profile.clone(),
            static_key: outcome.partner_static,
            safety_words: outcome.safety_words.clone(),
            addrs: known,
            paired_at_ms: now_ms(),
        };
        self.store.set_setting(SETTING_PARTNER, &partner)?;
        self.store.flush()?;
        self.partner = Some(partner);
        self.offer = None;
        self.nearby.clear();
        self.paired_over_internet().await;
        self.net
            .set_policy(Policy {
                partner: Some(outcome.partner),
            })
            .await?;
        tracing::info!(partner = %outcome.partner, "paired");
        if self.connected.contains(&outcome.partner) {
            self.partner_online().await;
        }
        Ok(PairedInfo {
            partner: outcome.partner_profile,
            safety_words: outcome.safety_words,
        })
    }

    fn partner_device(&self) -> Result<DeviceId, NodeError> {
        self.partner
            .as_ref()
            .map(|p| p.device)
            .ok_or(NodeError::NotPaired)
    }

    async fn send_text(
        &mut self,
        text: String,
        reply_to: Option<String>,
    ) -> Result<MessageView, NodeError> {
        self.partner_device()?;
        let reply_to = match reply_to {
            Some(id) => Some(self.find(&id)?.op.id),
            None => None,
        };
        let op = self.write(OpBody::Text { text, reply_to }).await?;
        let message = self
            .store
            .message(op.id)?
            .ok_or(NodeError::NoSuchMessage(format_id(op.id)))?;
        Ok(self.view(&message))
    }

    /// Writes a local op durably, tells the UI, and queues it for the partner.
    async fn write(&mut self, body: OpBody) -> Result<Op, NodeError> {
        self.partner_device()?;
        let op = self
            .store
            .append_local(self.me, now_ms(), body)
            .map_err(|e| match e {
                hearth_store::StoreError::Invalid(why) => NodeError::Invalid(why.into()),
                other => other.into(),
            })?;
        self.store.flush()?;
        self.announce(&op).await;
        self.pump();
        Ok(op)
    }

    fn find(&self, id: &str) -> Result<Message, NodeError> {
        let op_id = parse_id(id).ok_or_else(|| NodeError::NoSuchMessage(id.into()))?;
        self.store
            .message(op_id)?
            .ok_or_else(|| NodeError::NoSuchMessage(id.into()))
    }

    fn find_mine(&self, id: &str) -> Result<OpId, NodeError> {
        let message = self.find(id)?;
        if message.op.id.author != self.me {
            return Err(NodeError::NotYours);
        }
        Ok(message.op.id)
    }

    async fn mark_read(&mut self, up_to: &str) -> Result<(), NodeError> {
        let partner = self.partner_device()?;
        let message = self.find(up_to)?;
        if message.op.id.author != partner {
            return Err(NodeError::Invalid(
                "mark the partner's messages read".into(),
            ));
        }
        if self.store.read_up_to(partner) >= message.op.id.seq {
            return Ok(());
        }
        self.write(OpBody::ReadMarker {
            up_to: message.op.id,
        })
        .await
        .map(drop)
    }

    fn history(&self, limit: usize, before: Option<String>) -> Result<Vec<MessageView>, NodeError> {
        let before = match before {
            Some(id) => Some(self.find(&id)?.op.pos()),
            None => None,
        };
        let page = self.store.page_before(before, limit.min(1000))?;
        Ok(page.iter().map(|m| self.view(m)).collect())
    }

    fn delivery(&self, id: OpId) -> Option<Delivery> {
        if id.author != self.me {
            return None;
        }
        Some(if self.store.read_up_to(self.me) >= id.seq {
            Delivery::Read
        } else if self.store.acked(self.me) >= id.seq {
            Delivery::Delivered
        } else {
            Delivery::Queued
        })
    }

    fn author(&self, device: DeviceId) -> Author {
        if device == self.me {
            Author::Me
        } else {
            Author::Partner
        }
    }

    fn view(&self, message: &Message) -> MessageView {
        let reply_to = match &message.op.body {
            OpBody::Text { reply_to, .. } => reply_to.map(format_id),
            _ => None,
        };
        MessageView {
            id: format_id(message.op.id),
            author: self.author(message.op.id.author),
            text: message.text().map(str::to_string),
            sent_at: message.op.wall_ms,
            reply_to,
            edited: message.state.edited_text().is_some(),
            deleted: message.state.is_deleted(),
            reactions: message
                .state
                .reactions()
                .into_iter()
                .map(|r| ReactionView {
                    by: self.author(r.by),
                    emoji: r.emoji,
                })
                .collect(),
            delivery: self.delivery(message.op.id),
            attachment: self.attachment_view(message),
            pos: message.op.pos(),
        }
    }

    /// Tells the UI what a new op (ours or the partner's) changed.
    async fn announce(&mut self, op: &Op) {
        self.track_files(op).await;
        match &op.body {
            OpBody::Text { .. } | OpBody::Attachment(_) => {
                if let Ok(Some(message)) = self.store.message(op.id) {
                    self.emit(NodeEvent::Message(self.view(&message))).await;
                }
            }
            OpBody::Edit { target, .. }
            | OpBody::Delete { target }
            | OpBody::ReactionAdd { target, .. }
            | OpBody::ReactionRemove { target, .. }
            | OpBody::Opened { target } => {
                if let Ok(Some(message)) = self.store.message(*target) {
                    self.emit(NodeEvent::MessageChanged(self.view(&message)))
                        .await;
                }
            }
            OpBody::Profile(change) if op.id.author != self.me => {
                if let Some(partner) = &mut self.partner {
                    let profile = &mut partner.profile;
                    if let Some(name) = &change.name {
                        profile.name.clone_from(name);
                    }
                    if let Some(language) = &change.language {
                        profile.language.clone_from(language);
                    }
                    if let Some(time_zone) = &change.time_zone {
                        profile.time_zone.clone_from(time_zone);
                    }
                    let profile = profile.clone();
                    if let Err(e) = self.store.set_setting(SETTING_PARTNER, &partner.clone()) {
                        tracing::warn!(error = %e, "could not save the partner's profile");
                    }
                    self.emit(NodeEvent::PartnerProfile(profile)).await;
                }
            }
            _ => {}
        }
    }

    /// Emits a delivery state for each of my messages with seq in `(from, to]`.
    async fn announce_delivery(&self, from: u64, to: u64, state: Delivery) {
        if to <= from {
            return;
        }
        let Ok(ops) = self.store.ops_after(self.me, from, (to - from) as usize) else {
            return;
        };
        for op in ops.iter().filter(|op| op.body.is_message()) {
            // A message already read does not go back to merely delivered.
            if state == Delivery::Delivered && self.store.read_up_to(self.me) >= op.id.seq {
                continue;
            }
            self.emit(NodeEvent::Delivery {
                id: format_id(op.id),
                state,
            })
            .await;
        }
    }

    // ----- network --------------------------------------------------------------

    async fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening { addr } => {
                self.listen.push(addr.clone());
                self.remember_port(&addr);
                if self.ready_to_invite() {
                    for (_, reply) in std::mem::take(&mut self.waiting_invites) {
                        let result = self.make_invite();
                        let _ = reply.send(result);
                    }
                }
                self.emit(NodeEvent::Listening(addr)).await;
            }
            NetEvent::Connected { peer, .. } => {
                self.connected.insert(peer);
                if self.partner.as_ref().is_some_and(|p| p.device == peer) {
                    self.partner_online().await;
                }
            }
            NetEvent::Route { peer, route } => self.on_route(peer, route).await,
            NetEvent::Reachable { addrs } => self.on_reachable(addrs).await,
            NetEvent::Found { key, value } => self.on_found(&key, &value),
            NetEvent::Disconnected { peer } => {
                self.connected.remove(&peer);
                if self.partner.as_ref().is_some_and(|p| p.device == peer) && self.online {
                    self.online = false;
                    self.session = None;
                    self.emit(NodeEvent::Presence { online: false }).await;
                }
            }
            NetEvent::Addresses {
                peer,
                addrs,
                nearby,
            } => {
                if let Some(partner) = &mut self.partner {
                    if partner.device != peer {
                        return;
                    }
                    let mut merged = addrs;
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
                    if nearby && !self.online {
                        self.redial_at = Instant::now();
                        self.redial_delay = Duration::from_secs(1);
                    }
                } else if nearby {
                    self.nearby.insert(peer, addrs);
                }
            }
            NetEvent::Incoming {
                peer,
                protocol: Protocol::Pair,
                stream,
            } => {
                let offer = self.offer_for(peer);
                if offer.is_ok() {
                    self.responding = true;
                }
                let internal = self.internal_tx.clone();
                self.tasks.spawn(async move {
                    let outcome = pairing::respond(stream, offer).await;
                    let _ = internal.send(Internal::Responded(outcome)).await;
                });
            }
            NetEvent::Incoming {
                peer,
                protocol: Protocol::Sync,
                stream,
            } => {
                if self.partner.as_ref().is_some_and(|p| p.device == peer) {
                    let internal = self.internal_tx.clone();
                    self.tasks.spawn(sync::read_session(stream, internal));
                }
            }
            NetEvent::Incoming {
                peer,
                protocol: Protocol::File,
                stream,
            } => {
                if self.partner.as_ref().is_some_and(|p| p.device == peer) {
                    self.serve_file(stream);
                }
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

    /// This device's code, if it is taking pairings from `peer` now.
    fn offer_for(&mut self, peer: DeviceId) -> Result<PairSetup, Refusal> {
        if self.partner.is_some() || self.initiating {
            return Err(Refusal::NotPairing);
        }
        if self.responding {
            return Err(Refusal::Busy);
        }
        let (Some(offer), Some(profile)) = (&self.offer, &self.profile) else {
            return Err(Refusal::NotPairing);
        };
        if offer.expires_at_ms < now_ms() {
            self.offer = None;
            return Err(Refusal::Expired);
        }
        Ok(PairSetup {
            code: offer.code.clone(),
            me: self.me,
            them: peer,
            static_key: self.static_key.clone(),
            profile: profile.clone(),
            showing_code: offer.nearby,
        })
    }

    async fn partner_online(&mut self) {
        if !self.online {
            self.online = true;
            self.redial_delay = Duration::from_secs(1);
            self.emit(NodeEvent::Presence { online: true }).await;
        }
        if self.session.is_none() {
            self.start_session();
        }
        self.start_downloads();
    }

    fn start_session(&mut self) {
        let Some(partner) = self.partner.as_ref().map(|p| p.device) else {
            return;
        };
        self.next_session += 1;
        let id = self.next_session;
        let (frames, rx) = mpsc::channel(WRITER_QUEUE);
        // What we hold, so the partner sends what we miss; everything we have
        // flushed, since all our writes are flushed before they count.
        let _ = frames.try_send(SyncFrame::Hello {
            have: self.store.held_all(),
        });
        self.tasks.spawn(sync::write_session(
            self.net.clone(),
            partner,
            id,
            rx,
            self.internal_tx.clone(),
        ));
        self.session = Some(Session {
            id,
            frames,
            // Resume after what the partner confirmed; its Hello corrects this.
            sent_up_to: self.store.acked(self.me),
        });
        self.pump();
    }

    /// Queues ops the partner has not been sent yet, while the writer has room.
    fn pump(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        if self.ack_pending
            && let Some(partner) = self.partner.as_ref().map(|p| p.device)
        {
            let ack = SyncFrame::Ack {
                author: partner,
                up_to: self.store.held(partner),
            };
            if session.frames.try_send(ack).is_ok() {
                self.ack_pending = false;
            }
        }
        while session.sent_up_to < self.store.held(self.me) {
            if session.frames.capacity() == 0 {
                break;
            }
            let ops = match self.store.ops_after(self.me, session.sent_up_to, BATCH_OPS) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read ops to send");
                    break;
                }
            };
            let last = ops.last().map_or(session.sent_up_to, |op| op.id.seq);
            match session.frames.try_send(SyncFrame::Ops { ops }) {
                Ok(()) => session.sent_up_to = last,
                Err(_) => break,
            }
        }
    }

    async fn maintain(&mut self) {
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting_invites)
            .into_iter()
            .partition(|(asked, _)| asked.elapsed() > INVITE_ADDRESS_WAIT);
        self.waiting_invites = waiting;
        for (_, reply) in expired {
            // No relay answered in time: an invite for this network is still useful.
            let result = if self.listen.is_empty() {
                Err(NodeError::Invalid(
                    "this device is not reachable on any address yet; check the network and try again"
                        .into(),
                ))
            } else {
                self.make_invite()
            };
            let _ = reply.send(result);
        }
        if let Some(offer) = &self.offer
            && offer.expires_at_ms < now_ms()
        {
            self.offer = None;
        }
        self.maintain_files().await;
        self.maintain_internet().await;
        let Some(partner) = &self.partner else {
            return;
        };
        if self.online {
            if self.session.is_none() {
                self.start_session();
            }
            return;
        }
        if Instant::now() >= self.redial_at && !partner.addrs.is_empty() {
            let (device, addrs) = (partner.device, partner.addrs.clone());
            if let Err(e) = self.net.dial(Some(device), addrs).await {
                tracing::debug!(error = %e, "could not dial the partner");
            }
            self.redial_at = Instant::now() + self.redial_delay;
            self.redial_delay = (self.redial_delay * 2).min(MAX_REDIAL);
        }
    }

    // ----- tasks ----------------------------------------------------------------

    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Frame(frame) => self.on_frame(frame).await,
            Internal::Violation(reason) => self.violation(&reason).await,
            Internal::Wrote { session } => {
                if self.session.as_ref().is_some_and(|s| s.id == session) {
                    self.pump();
                }
            }
            Internal::WriterClosed { session } => {
                if self.session.as_ref().is_some_and(|s| s.id == session) {
                    self.session = None;
                }
            }
            Internal::Initiated {
                result,
                addrs,
                reply,
            } => {
                self.initiating = false;
                let result = match result {
                    Ok(outcome) => self.complete_pairing(outcome, addrs).await,
                    Err(e) => Err(NodeError::Pairing(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Internal::Progress {
                id,
                done,
                total,
                incoming,
            } => {
                self.emit(NodeEvent::Transfer {
                    id: format_id(id),
                    done,
                    total,
                    incoming,
                })
                .await;
            }
            Internal::DownloadEnded { id, result } => self.on_download_ended(id, result).await,
            Internal::Prepared { result, reply } => self.on_prepared(result, reply).await,
            Internal::FileRead { id, result, reply } => {
                self.on_file_read(id, result, reply).await;
            }
            Internal::Responded(responded) => {
                self.responding = false;
                match responded {
                    Responded::Probed => {}
                    Responded::Handshake(Ok(outcome)) => {
                        match self.complete_pairing(outcome, Vec::new()).await {
                            Ok(info) => self.emit(NodeEvent::Paired(info)).await,
                            Err(e) => self.emit(NodeEvent::Error(e.to_string())).await,
                        }
                    }
                    Responded::Handshake(Err(PairFail::CodeMismatch)) => {
                        let left = match &mut self.offer {
                            Some(offer) => {
                                offer.failures += 1;
                                MAX_PAIRING_FAILURES.saturating_sub(offer.failures)
                            }
                            None => 0,
                        };
                        if left == 0 {
                            self.offer = None;
                        }
                        let message = if left == 0 {
                            "a wrong code was tried; the code no longer works, make a new one"
                                .to_string()
                        } else {
                            format!("a wrong code was tried; {left} tries left")
                        };
                        self.emit(NodeEvent::PairingFailed(message)).await;
                    }
                    Responded::Handshake(Err(e)) => {
                        self.emit(NodeEvent::PairingFailed(e.to_string())).await;
                    }
                }
            }
        }
    }

    /// The partner's device sent something it must not: drop the connection. Nothing
    /// of what it sent has been stored.
    async fn violation(&mut self, reason: &str) {
        tracing::warn!(%reason, "the partner's device broke the sync protocol; disconnecting");
        if let Some(partner) = self.partner.as_ref().map(|p| p.device) {
            let _ = self.net.disconnect(partner).await;
        }
        self.session = None;
    }

    async fn on_frame(&mut self, frame: SyncFrame) {
        let Some(partner) = self.partner.as_ref().map(|p| p.device) else {
            return;
        };
        match frame {
            SyncFrame::Hello { have } => {
                let theirs_of_mine = have
                    .iter()
                    .find(|(author, _)| *author == self.me)
                    .map_or(0, |(_, seq)| *seq);
                if theirs_of_mine > self.store.held(self.me) {
                    tracing::warn!(
                        theirs = theirs_of_mine,
                        mine = self.store.held(self.me),
                        "the partner holds more of this device's log than this device does"
                    );
                }
                self.on_ack(theirs_of_mine).await;
                if let Some(session) = &mut self.session {
                    session.sent_up_to = theirs_of_mine.min(self.store.held(self.me));
                }
                self.pump();
            }
            SyncFrame::Ops { ops } => {
                if ops.iter().any(|op| op.id.author != partner) {
                    self.violation("ops not written by the partner").await;
                    return;
                }
                let read_before = self.store.read_up_to(self.me);
                match self.store.apply_remote(&ops) {
                    Ok(applied) => {
                        // Durable before acknowledged: a crash after the ack must not
                        // lose what the partner now believes we hold.
                        if let Err(e) = self.store.flush() {
                            tracing::warn!(error = %e, "could not flush received ops");
                            return;
                        }
                        self.ack_pending = true;
                        self.pump();
                        for op in &applied.new {
                            self.announce(op).await;
                        }
                        let read_after = self.store.read_up_to(self.me);
                        self.announce_delivery(read_before, read_after, Delivery::Read)
                            .await;
                    }
                    Err(hearth_store::StoreError::Gap { expected, got, .. }) => {
                        // Frames from an older session overlapped a newer one; ask
                        // again from where we are.
                        tracing::debug!(expected, got, "gap in the partner's ops; asking again");
                        if let Some(session) = &self.session {
                            let _ = session.frames.try_send(SyncFrame::Hello {
                                have: self.store.held_all(),
                            });
                        }
                    }
                    Err(e) => {
                        self.violation(&format!("ops rejected: {e}")).await;
                    }
                }
            }
            SyncFrame::Ack { author, up_to } => {
                if author == self.me {
                    self.on_ack(up_to).await;
                }
            }
            SyncFrame::Typing => self.emit(NodeEvent::Typing).await,
        }
    }

    async fn on_ack(&mut self, up_to: u64) {
        let up_to = up_to.min(self.store.held(self.me));
        let before = self.store.acked(self.me);
        if up_to <= before {
            return;
        }
        if let Err(e) = self.store.set_acked(self.me, up_to) {
            tracing::warn!(error = %e, "could not record an acknowledgement");
            return;
        }
        self.announce_delivery(before, up_to, Delivery::Delivered)
            .await;
    }
}
