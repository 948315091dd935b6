//! `hearth mailbox`: the couple's own mailbox, for a computer they leave on (a home
//! server, a small board, their relay's host). Their two devices are often never on
//! at the same time; each leaves at the mailbox what the other has not received, and
//! collects what was left for it.
//!
//! The mailbox holds letters sealed by one partner's device for the other's
//! ([`hearth_crypto::Letters`], under a key the mailbox never learns), so it reads
//! none of them. It sees which of its devices a letter is for, its padded size and
//! when it was left and collected; it keeps a letter until the device it is for
//! says it has stored it, then forgets it. A device joins with the invite the
//! mailbox prints (`hearth-mailbox:…`, valid for [`MailboxConfig::invite_ttl`], for
//! [`MailboxConfig::devices`] joins and three wrong tries); only devices that joined
//! may leave or collect letters, a device collects only its own, and one that leaves
//! is forgotten with its letters.
//!
//! One task owns the network events; each device's stream is served by a task of its
//! own (a few per device, [`MAX_STREAMS`] in all), and a fetch waits (up to a minute)
//! for a letter to be left for it.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_core::DeviceId;
use hearth_core::wire::{self, MailboxFrame, MailboxRefusal};
use hearth_crypto::{Invite, InviteKind};
use hearth_net::{FramedStream, Net, NetConfig, NetEvent, NetworkOptions, Policy, Protocol};
use hearth_store::{MailboxError, MailboxStore};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use tokio::sync::watch;

use crate::types::NodeError;

const SETTING_IDENTITY: &str = "identity";
const SETTING_INVITE: &str = "invite";
const SETTING_MEMBERS: &str = "members";
/// Wrong proofs an invite takes before it stops working.
const INVITE_TRIES: u32 = 3;
/// Devices one mailbox serves: a couple with a few devices each.
const MAX_MEMBERS: usize = 16;
/// Streams one device may have open at once (a waiting fetch, a deposit, a join).
const STREAMS_PER_PEER: usize = 4;
/// Streams open at once, over every device.
const MAX_STREAMS: usize = 64;
/// The longest a fetch may wait for a letter.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How long a device's stream may stay silent before it is let go.
const IDLE: Duration = Duration::from_secs(120);
/// Room for letters in one answer, below the protocol's limit: each of up to
/// [`wire::MAX_LETTERS`] letters adds its number and length to the encoding.
const ANSWER_BYTES: usize = wire::MAX_MAILBOX_FRAME_BYTES - 64 * 1024;
/// Streams open at once from devices that have not joined (to join): never so many
/// that the couple's devices find no room.
const STRANGER_STREAMS: usize = 8;

/// How to run a mailbox.
#[derive(Clone, Debug)]
pub struct MailboxConfig {
    /// Its directory: identity, invite, members and letters. Created on first start.
    pub profile_dir: PathBuf,
    /// Where it listens, and relays to be reachable through. mDNS is never used.
    pub network: NetworkOptions,
    /// How long a new invite stays valid.
    pub invite_ttl: Duration,
    /// Bytes of letters kept for one device at most.
    pub quota_bytes: u64,
    /// Make a new invite, whatever became of the last one. Otherwise a new invite
    /// is made only on the first start: a restart after the invite ran out must not
    /// open the door again by itself.
    pub new_invite: bool,
    /// How many devices a new invite lets join (the couple's two, by default).
    pub devices: u32,
    /// Devices to forget at start (peer ids), with every letter kept for them: a
    /// device lost, or a former partner's.
    pub forget: Vec<String>,
    /// Addresses devices reach the mailbox at that are not its listen addresses
    /// (say, behind a port forward): listed first in the invite.
    pub external: Vec<String>,
}

impl MailboxConfig {
    /// A mailbox in `profile_dir` on the default network: every interface, a random
    /// port; invites valid a day, for two devices; 2 GiB per device.
    pub fn new(profile_dir: impl Into<PathBuf>) -> MailboxConfig {
        MailboxConfig {
            profile_dir: profile_dir.into(),
            network: NetworkOptions {
                mdns: false,
                upnp: false,
                ..NetworkOptions::default()
            },
            invite_ttl: Duration::from_secs(24 * 3600),
            quota_bytes: 2 << 30,
            new_invite: false,
            devices: 2,
            forget: Vec::new(),
            external: Vec::new(),
        }
    }
}

/// What a running mailbox reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxEvent {
    /// The invite the couple's devices join with, and when it expires (ms since the
    /// Unix epoch); `None` once it is used up (every join or every try spent) or
    /// expired: a new one needs [`MailboxConfig::new_invite`].
    Invite(Option<(String, i64)>),
    /// Listening on an address (ending in `/p2p/<mailbox id>`).
    Listening(String),
    /// A device joined.
    Joined(String),
    /// A device left, or was forgotten at start.
    Left(String),
    /// A device that joined earlier, listed at start.
    Member(String),
}

/// The invite on offer.
#[derive(Clone, Serialize, Deserialize)]
struct Offer {
    secret: [u8; 16],
    expires_at_ms: i64,
    tries_left: u32,
    /// Devices it may still let join: a correct proof spends one too, so an invite
    /// seen by someone else after the couple joined lets nobody in.
    joins_left: u32,
}

impl Offer {
    fn valid(&self) -> bool {
        self.tries_left > 0 && self.joins_left > 0 && self.expires_at_ms > now_ms()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What every stream's task shares. Each mutex is taken on its own, never while
/// another is held, so no two tasks can wait on each other.
struct Shared {
    store: MailboxStore,
    net: Net,
    me: DeviceId,
    members: Mutex<HashSet<DeviceId>>,
    offer: Mutex<Option<Offer>>,
    /// Bumped whenever letters are left, to wake waiting fetches.
    left: watch::Sender<u64>,
    /// Streams open per device ([`STREAMS_PER_PEER`] each, [`MAX_STREAMS`] in all).
    streams: Mutex<HashMap<DeviceId, usize>>,
    quota: u64,
    /// Joins and leaves, for the operator; one lost when a burst fills it is only a
    /// line less on the console.
    events: tokio::sync::mpsc::Sender<MailboxEvent>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn is_member(&self, device: DeviceId) -> bool {
        lock(&self.members).contains(&device)
    }

    fn members(&self) -> Vec<DeviceId> {
        lock(&self.members).iter().copied().collect()
    }

    /// Who the gate lets in now.
    fn policy(&self) -> Policy {
        let mailbox = self.members();
        let open = lock(&self.offer).as_ref().is_some_and(Offer::valid);
        Policy {
            partner: None,
            open: open && mailbox.len() < MAX_MEMBERS,
            mailbox,
        }
    }

    /// Counts a new stream of `peer`'s, unless it has too many (or all have, or all
    /// strangers have).
    fn take_stream(&self, peer: DeviceId) -> bool {
        let members = self.members();
        let mut streams = lock(&self.streams);
        let total: usize = streams.values().sum();
        let strangers: usize = streams
            .iter()
            .filter(|(d, _)| !members.contains(d))
            .map(|(_, n)| n)
            .sum();
        let stranger = !members.contains(&peer);
        let mine = streams.entry(peer).or_default();
        if *mine >= STREAMS_PER_PEER
            || total >= MAX_STREAMS
            || (stranger && strangers >= STRANGER_STREAMS)
        {
            return false;
        }
        *mine += 1;
        true
    }

    fn give_stream(&self, peer: DeviceId) {
        let mut streams = lock(&self.streams);
        if let Some(mine) = streams.get_mut(&peer) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                streams.remove(&peer);
            }
        }
    }
}

fn store_error(e: MailboxError) -> NodeError {
    NodeError::Store(e.into())
}

/// Runs the mailbox until `stop` resolves; `on_event` hears its invite, addresses,
/// joins and leaves.
pub async fn serve(
    config: MailboxConfig,
    mut on_event: impl FnMut(MailboxEvent),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), NodeError> {
    let store = MailboxStore::open(&config.profile_dir)?;
    let identity: [u8; 32] = match store.setting(SETTING_IDENTITY).map_err(store_error)? {
        Some(secret) => secret,
        None => {
            let secret = hearth_net::generate_identity();
            store
                .set_setting(SETTING_IDENTITY, &secret)
                .map_err(store_error)?;
            secret
        }
    };
    let mut members: Vec<DeviceId> = store
        .setting(SETTING_MEMBERS)
        .map_err(store_error)?
        .unwrap_or_default();
    for peer in &config.forget {
        // Not a peer id: says so ("not a Hearth device id").
        let device = hearth_net::device_from_peer_text(peer)?;
        store.forget(device).map_err(store_error)?;
        members.retain(|d| *d != device);
        store
            .set_setting(SETTING_MEMBERS, &members)
            .map_err(store_error)?;
        on_event(MailboxEvent::Left(peer.clone()));
    }
    for device in &members {
        on_event(MailboxEvent::Member(
            hearth_net::peer_id_text(*device).unwrap_or_default(),
        ));
    }
    let saved: Option<Offer> = store.setting(SETTING_INVITE).map_err(store_error)?;
    let offer = match saved {
        Some(offer) if !config.new_invite => offer,
        _ => {
            let mut secret = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut secret);
            let ttl = i64::try_from(config.invite_ttl.as_millis()).unwrap_or(i64::MAX);
            let offer = Offer {
                secret,
                expires_at_ms: now_ms().saturating_add(ttl),
                tries_left: INVITE_TRIES,
                joins_left: config.devices.max(1),
            };
            store
                .set_setting(SETTING_INVITE, &offer)
                .map_err(store_error)?;
            offer
        }
    };
    let open = offer.valid() && members.len() < MAX_MEMBERS;
    let (net, mut net_events) = hearth_net::spawn(NetConfig {
        identity_secret: identity,
        network: NetworkOptions {
            mdns: false,
            ..config.network.clone()
        },
        mdns_query_interval: Duration::from_secs(60),
        policy: Policy {
            partner: None,
            mailbox: members.clone(),
            open,
        },
    })?;
    let (events, mut event_rx) = tokio::sync::mpsc::channel(64);
    let shared = Arc::new(Shared {
        store,
        me: net.local(),
        net: net.clone(),
        members: Mutex::new(members.into_iter().collect()),
        offer: Mutex::new(Some(offer)),
        left: watch::channel(0).0,
        streams: Mutex::default(),
        quota: config.quota_bytes,
        events,
    });
    tracing::info!(mailbox = %shared.me, "mailbox started");

    let mut listening: Vec<String> = Vec::new();
    let mut reachable: Vec<String> = Vec::new();
    // What the last `Invite` event said: an invite for these addresses, or none.
    let mut announced: Option<Option<Vec<String>>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(event) = event_rx.recv() => on_event(event),
            Some(_) = tasks.join_next() => {}
            _ = tick.tick() => {
                // The invite names where the mailbox can be reached: what it heard
                // from outside first, then its listen addresses.
                let mut addrs: Vec<String> = config.external.clone();
                addrs.extend(reachable.iter().cloned());
                addrs.extend(listening.iter().cloned());
                let mut seen = HashSet::new();
                addrs.retain(|a| seen.insert(a.clone()));
                addrs.truncate(16);
                let offer = lock(&shared.offer).clone().filter(Offer::valid);
                let now = offer.as_ref().map(|_| addrs.clone());
                let ready = offer.is_none() || !addrs.is_empty();
                if ready && announced.as_ref() != Some(&now) {
                    announced = Some(now);
                    on_event(MailboxEvent::Invite(offer.map(|offer| {
                        (invite_text(&shared.me, &addrs, &offer), offer.expires_at_ms)
                    })));
                    // An invite that ran out shuts the door to strangers.
                    let _ = net.set_policy(shared.policy()).await;
                }
            }
            event = net_events.recv() => match event {
                None => break,
                Some(NetEvent::Listening { addr }) => {
                    on_event(MailboxEvent::Listening(addr.clone()));
                    listening.push(strip_own_id(&addr));
                }
                Some(NetEvent::Reachable { addrs }) => {
                    reachable = addrs.into_iter().filter(|a| !listening.contains(a)).collect();
                }
                Some(NetEvent::Incoming { peer, protocol: Protocol::Mailbox, stream }) => {
                    if shared.take_stream(peer) {
                        let shared = shared.clone();
                        tasks.spawn(async move {
                            serve_device(&shared, peer, stream).await;
                            shared.give_stream(peer);
                        });
                    } else {
                        tracing::debug!(device = %peer, "too many streams; one refused");
                    }
                }
                Some(_) => {}
            },
        }
    }
    tasks.shutdown().await;
    net.shutdown().await;
    if let Err(e) = shared.store.flush() {
        tracing::warn!(error = %e, "could not flush the mailbox");
    }
    tracing::info!("mailbox stopped");
    Ok(())
}

/// A listen address without the `/p2p/<own id>` the network appends, as invites
/// carry addresses (the peer id travels beside them).
fn strip_own_id(addr: &str) -> String {
    match addr.rfind("/p2p/") {
        Some(at) => addr[..at].to_string(),
        None => addr.to_string(),
    }
}

fn invite_text(me: &DeviceId, addrs: &[String], offer: &Offer) -> String {
    Invite {
        peer: hearth_net::peer_id_bytes(*me).unwrap_or_default(),
        addrs: addrs
            .iter()
            .filter_map(|a| hearth_net::addr_to_bytes(a).ok())
            .collect(),
        secret: offer.secret,
        expires_at_ms: offer.expires_at_ms,
    }
    .to_text_as(InviteKind::Mailbox)
}

/// Serves one stream of a device: requests and answers until it closes or idles. A
/// device that has not joined gets one answer per stream.
async fn serve_device(shared: &Arc<Shared>, peer: DeviceId, mut stream: FramedStream) {
    loop {
        let bytes = match tokio::time::timeout(IDLE, stream.recv()).await {
            Ok(Ok(bytes)) => bytes,
            _ => return,
        };
        let frame = match wire::decode_mailbox(&bytes) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::info!(device = %peer, error = %e, "a device sent nonsense; stream closed");
                return;
            }
        };
        let Some(answer) = answer(shared, peer, frame).await else {
            return;
        };
        if stream.send(&wire::encode(&answer)).await.is_err() || !shared.is_member(peer) {
            return;
        }
    }
}

async fn answer(shared: &Arc<Shared>, peer: DeviceId, frame: MailboxFrame) -> Option<MailboxFrame> {
    let refuse = |why| Some(MailboxFrame::Refused(why));
    match frame {
        MailboxFrame::Join { proof } => Some(join(shared, peer, proof).await),
        _ if !shared.is_member(peer) => refuse(MailboxRefusal::NotMember),
        MailboxFrame::Deposit { to, letters } => {
            if !shared.is_member(to) {
                return refuse(MailboxRefusal::UnknownRecipient);
            }
            let store = shared.store.clone();
            let quota = shared.quota;
            let count = letters.len();
            let kept = tokio::task::spawn_blocking(move || store.deposit(to, &letters, quota))
                .await
                .ok()?;
            match kept {
                Ok(_) => {
                    tracing::debug!(from = %peer, to = %to, count, "letters left");
                    shared.left.send_modify(|n| *n += 1);
                    Some(MailboxFrame::Stored)
                }
                Err(MailboxError::Full) => refuse(MailboxRefusal::Full),
                Err(e) => {
                    tracing::warn!(error = %e, "could not keep letters");
                    refuse(MailboxRefusal::Disk)
                }
            }
        }
        MailboxFrame::Fetch { ack, wait_ms } => fetch(shared, peer, ack, wait_ms).await,
        MailboxFrame::Leave => Some(leave(shared, peer).await),
        // Answers are the mailbox's to give: a device sending one is confused.
        MailboxFrame::Joined
        | MailboxFrame::Stored
        | MailboxFrame::Letters { .. }
        | MailboxFrame::Refused(_)
        | MailboxFrame::Left => None,
    }
}

/// Forgets `peer`'s letters up to `ack`, then answers with the next ones, waiting
/// up to `wait_ms` (at most [`MAX_WAIT`]) for one to be left.
async fn fetch(
    shared: &Arc<Shared>,
    peer: DeviceId,
    ack: u64,
    wait_ms: u32,
) -> Option<MailboxFrame> {
    let mut left = shared.left.subscribe();
    let store = shared.store.clone();
    let acked = tokio::task::spawn_blocking(move || store.acknowledge(peer, ack))
        .await
        .ok()?;
    if let Err(e) = acked {
        tracing::warn!(error = %e, "could not forget collected letters");
        return Some(MailboxFrame::Refused(MailboxRefusal::Disk));
    }
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(wait_ms.into()).min(MAX_WAIT);
    loop {
        left.mark_unchanged();
        let store = shared.store.clone();
        let found =
            tokio::task::spawn_blocking(move || store.letters_after(peer, ack, ANSWER_BYTES))
                .await
                .ok()?;
        let (letters, more) = match found {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "could not read letters");
                return Some(MailboxFrame::Refused(MailboxRefusal::Disk));
            }
        };
        if !letters.is_empty() || tokio::time::Instant::now() >= deadline {
            return Some(MailboxFrame::Letters {
                letters: letters
                    .into_iter()
                    .map(|(n, l)| (n, ByteBuf::from(l)))
                    .collect(),
                more,
                waiting: waiting_for_others(shared, peer),
            });
        }
        // Wait for letters to be left, or the deadline.
        let _ = tokio::time::timeout_at(deadline, left.changed()).await;
    }
}

/// Letters kept for the other devices: for a couple, those `peer` left for its
/// partner that are not collected yet.
fn waiting_for_others(shared: &Shared, peer: DeviceId) -> u64 {
    shared
        .members()
        .into_iter()
        .filter(|d| *d != peer)
        .filter_map(|d| shared.store.waiting(d).ok())
        .map(|(count, _)| count)
        .sum()
}

async fn join(shared: &Arc<Shared>, peer: DeviceId, proof: [u8; 32]) -> MailboxFrame {
    if shared.is_member(peer) {
        return MailboxFrame::Joined;
    }
    let room = shared.members().len() < MAX_MEMBERS;
    let verdict = {
        let mut offer = lock(&shared.offer);
        match offer.as_mut() {
            Some(current) if current.valid() && room => {
                let expected = hearth_crypto::join_proof(
                    &current.secret,
                    &hearth_net::peer_id_bytes(peer).unwrap_or_default(),
                    &hearth_net::peer_id_bytes(shared.me).unwrap_or_default(),
                );
                if hearth_crypto::proofs_match(&expected, &proof) {
                    current.joins_left = current.joins_left.saturating_sub(1);
                    Ok(current.clone())
                } else {
                    current.tries_left = current.tries_left.saturating_sub(1);
                    Err(Some(current.clone()))
                }
            }
            _ => Err(None),
        }
    };
    match verdict {
        Ok(offer) => {
            let members = {
                let mut members = lock(&shared.members);
                members.insert(peer);
                members.iter().copied().collect::<Vec<_>>()
            };
            let saved = shared
                .store
                .set_setting(SETTING_MEMBERS, &members)
                .and_then(|()| shared.store.set_setting(SETTING_INVITE, &offer));
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not remember a device that joined");
                lock(&shared.members).remove(&peer);
                return MailboxFrame::Refused(MailboxRefusal::Disk);
            }
            let _ = shared.net.set_policy(shared.policy()).await;
            let peer_id = hearth_net::peer_id_text(peer).unwrap_or_default();
            tracing::info!(device = %peer_id, "a device joined the mailbox");
            let _ = shared.events.try_send(MailboxEvent::Joined(peer_id));
            MailboxFrame::Joined
        }
        Err(spent) => {
            tracing::info!(device = %peer, "a device showed a wrong or stale invite");
            if let Some(offer) = spent {
                if let Err(e) = shared.store.set_setting(SETTING_INVITE, &offer) {
                    tracing::warn!(error = %e, "could not count a wrong try");
                }
                if !offer.valid() {
                    let _ = shared.net.set_policy(shared.policy()).await;
                }
            }
            MailboxFrame::Refused(MailboxRefusal::BadInvite)
        }
    }
}

/// A device leaves: it is forgotten, with every letter kept for it.
async fn leave(shared: &Arc<Shared>, peer: DeviceId) -> MailboxFrame {
    let members = {
        let mut members = lock(&shared.members);
        members.remove(&peer);
        members.iter().copied().collect::<Vec<_>>()
    };
    let store = shared.store.clone();
    let forgotten = tokio::task::spawn_blocking(move || {
        store.forget(peer)?;
        store.set_setting(SETTING_MEMBERS, &members)
    })
    .await;
    if !matches!(forgotten, Ok(Ok(()))) {
        tracing::warn!("could not forget a device that left");
        return MailboxFrame::Refused(MailboxRefusal::Disk);
    }
    let _ = shared.net.set_policy(shared.policy()).await;
    let peer_id = hearth_net::peer_id_text(peer).unwrap_or_default();
    tracing::info!(device = %peer_id, "a device left the mailbox");
    let _ = shared.events.try_send(MailboxEvent::Left(peer_id));
    MailboxFrame::Left
}
