//! `hearth relay`: a small libp2p node the couple (or a friend) hosts where both can
//! reach it. It forwards circuits between devices that cannot reach each other
//! directly (circuit relay v2: it sees only the devices' Noise ciphertext), tells
//! devices whether they are reachable (AutoNAT v2), helps them punch holes through
//! their routers (identify reports the addresses it observes), and keeps the
//! couple's sealed rendezvous records (a Kademlia server on Hearth's own protocol).
//!
//! It logs who connects and reserves, never a byte of what it carries.

use std::num::NonZeroU32;
use std::time::Duration;

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol as AddrPart;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, autonat, identify, kad, ping, relay};

use crate::stack::{self, Role};
use crate::{NetError, keypair};

/// How a relay runs. Its `Debug` leaves the secret key out.
#[derive(Clone)]
pub struct RelayConfig {
    /// The relay's Ed25519 secret key, kept in its profile so its address stays the
    /// same across restarts.
    pub identity_secret: [u8; 32],
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Addresses the relay is reachable at from outside, if not its listen addresses
    /// (say, behind a port forward).
    pub external: Vec<String>,
    /// Reservations held at once, over all devices.
    pub max_reservations: usize,
    /// Circuits open at once, over all devices.
    pub max_circuits: usize,
    /// How long one circuit may stay open before the devices must open another.
    pub max_circuit_duration: Duration,
    /// How many bytes one circuit may carry (each direction) before it is closed.
    pub max_circuit_bytes: u64,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Everything but `identity_secret`, which never goes into a log.
        let RelayConfig {
            identity_secret: _,
            listen,
            external,
            max_reservations,
            max_circuits,
            max_circuit_duration,
            max_circuit_bytes,
        } = self;
        f.debug_struct("RelayConfig")
            .field("listen", listen)
            .field("external", external)
            .field("max_reservations", max_reservations)
            .field("max_circuits", max_circuits)
            .field("max_circuit_duration", max_circuit_duration)
            .field("max_circuit_bytes", max_circuit_bytes)
            .finish_non_exhaustive()
    }
}

impl RelayConfig {
    /// Limits generous enough for a couple's chat, photos and the odd video when
    /// hole punching fails, and small enough for a home server.
    pub fn new(identity_secret: [u8; 32], listen: Vec<String>) -> RelayConfig {
        RelayConfig {
            identity_secret,
            listen,
            external: Vec::new(),
            max_reservations: 128,
            max_circuits: 64,
            max_circuit_duration: Duration::from_secs(6 * 3600),
            max_circuit_bytes: 4 << 30,
        }
    }
}

#[derive(NetworkBehaviour)]
struct RelayBehaviour {
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    autonat: autonat::v2::server::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

/// Something a running relay reports.
#[derive(Debug)]
pub enum RelayEvent {
    /// An address devices can reach the relay at, ending in `/p2p/<relay id>`: each
    /// listen address as it comes up, and each `external` address at start.
    Address(String),
}

/// Runs the relay until `stop` resolves. `on_event` hears its addresses.
pub async fn serve(
    config: RelayConfig,
    mut on_event: impl FnMut(RelayEvent),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), NetError> {
    let keypair = keypair(&config.identity_secret)?;
    let relay_config = relay::Config {
        max_reservations: config.max_reservations,
        max_reservations_per_peer: 4,
        reservation_duration: Duration::from_secs(3600),
        max_circuits: config.max_circuits,
        max_circuits_per_peer: 8,
        max_circuit_duration: config.max_circuit_duration,
        max_circuit_bytes: config.max_circuit_bytes,
        ..relay::Config::default()
    }
    .reservation_rate_per_peer(nonzero(30), Duration::from_secs(60))
    .circuit_src_per_peer(nonzero(60), Duration::from_secs(60));
    let behaviour = |key: &Keypair, _: Option<relay::client::Behaviour>| {
        let local = key.public().to_peer_id();
        // Records are taken in by hand (`store_record`), so each device's share
        // of the store is bounded.
        let mut kad_config = stack::kad_config();
        kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
        let store = kad::store::MemoryStore::with_config(
            local,
            kad::store::MemoryStoreConfig {
                max_records: MAX_RECORDS,
                max_value_bytes: MAX_RECORD_BYTES,
                ..Default::default()
            },
        );
        let mut kad = kad::Behaviour::with_config(local, store, kad_config);
        kad.set_mode(Some(kad::Mode::Server));
        Ok(RelayBehaviour {
            relay: relay::Behaviour::new(local, relay_config),
            identify: stack::identify(key),
            ping: ping::Behaviour::default(),
            autonat: autonat::v2::server::Behaviour::default(),
            kad,
        })
    };
    let mut swarm = stack::build(keypair, Role::Relay, behaviour, |c| {
        c.with_idle_connection_timeout(Duration::from_secs(120))
    })?;

    let listen = if config.listen.is_empty() {
        vec![
            "/ip4/0.0.0.0/tcp/4001".to_string(),
            "/ip4/0.0.0.0/udp/4001/quic-v1".to_string(),
        ]
    } else {
        config.listen.clone()
    };
    stack::listen_all(&mut swarm, &listen)?;
    let local = *swarm.local_peer_id();
    for addr in &config.external {
        let mut parsed: Multiaddr = addr
            .parse()
            .map_err(|_| NetError::BadAddress(addr.clone()))?;
        if matches!(parsed.iter().last(), Some(AddrPart::P2p(_))) {
            parsed.pop();
        }
        swarm.add_external_address(parsed.clone());
        on_event(RelayEvent::Address(
            parsed.with(AddrPart::P2p(local)).to_string(),
        ));
    }

    // A relay told to listen on loopback only is one for tests on this machine:
    // then its loopback addresses are the ones to hand out.
    let loopback_only = listen
        .iter()
        .all(|a| a.parse::<Multiaddr>().is_ok_and(|a| is_loopback(&a)));
    let mut quotas = Quotas::default();
    tokio::pin!(stop);
    loop {
        let event = tokio::select! {
            event = swarm.select_next_some() => event,
            () = &mut stop => break,
        };
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                // Unless told otherwise, the relay is where it listens: devices learn
                // these addresses in reservations and invites.
                if config.external.is_empty() && (!is_loopback(&address) || loopback_only) {
                    swarm.add_external_address(address.clone());
                }
                on_event(RelayEvent::Address(
                    address.with(AddrPart::P2p(local)).to_string(),
                ));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                // Who connects from where stays out of the relay's normal logs: its
                // operator learns IPs from the traffic anyway, but need not keep a
                // record of them.
                tracing::info!(peer = %peer_id, "device connected");
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "device connected from");
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                tracing::info!(peer = %peer_id, "device disconnected");
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(event)) => {
                // Peer ids and errors only: a relay never sees more.
                tracing::info!(?event, "relay");
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Kad(kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        record: Some(record),
                        ..
                    },
            })) => {
                let kad = &mut swarm.behaviour_mut().kad;
                store_record(kad, &mut quotas, source, record);
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                // Devices that serve the DHT protocol are never added: they are
                // clients. Only the relay's routing table matters.
                tracing::debug!(peer = %peer_id, agent = %info.agent_version, "identified");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Records the relay holds for all devices together.
const MAX_RECORDS: usize = 4096;
/// The largest record: a rendezvous record is a few hundred bytes, sealed.
const MAX_RECORD_BYTES: usize = 8 * 1024 + 64;
/// Distinct record keys one device may store per [`QUOTA_WINDOW`]: a device keeps
/// one key a day (two around midnight), and refreshing or updating a key it holds
/// costs nothing.
const KEYS_PER_PEER: usize = 4;
const QUOTA_WINDOW: Duration = Duration::from_secs(3600);

/// The record keys each device stored in the current window.
#[derive(Default)]
struct Quotas {
    window_start: Option<std::time::Instant>,
    keys: std::collections::HashMap<PeerId, std::collections::HashSet<Vec<u8>>>,
}

impl Quotas {
    /// Whether `peer` may store under `key`: always for a key it already stored in
    /// this window (a refresh or a new address), for a new key while it holds fewer
    /// than its share.
    fn allow(&mut self, peer: PeerId, key: &[u8]) -> bool {
        let now = std::time::Instant::now();
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= QUOTA_WINDOW)
        {
            self.window_start = Some(now);
            self.keys.clear();
        }
        let held = self.keys.entry(peer).or_default();
        if held.contains(key) {
            return true;
        }
        if held.len() >= KEYS_PER_PEER {
            return false;
        }
        held.insert(key.to_vec());
        true
    }
}

/// Takes in a record a device asked to store, within its quota and the store's
/// limits; anything else is dropped (and said at debug level only).
fn store_record(
    kad: &mut kad::Behaviour<kad::store::MemoryStore>,
    quotas: &mut Quotas,
    source: PeerId,
    record: kad::Record,
) {
    if !quotas.allow(source, record.key.as_ref()) {
        tracing::debug!(peer = %source, "a device is over its share of the DHT store");
        return;
    }
    if let Err(e) = kad::store::RecordStore::put(kad.store_mut(), record) {
        tracing::debug!(peer = %source, error = %e, "a record was not stored");
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn is_loopback(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(AddrPart::Ip4(ip)) => ip.is_loopback(),
        Some(AddrPart::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{KEYS_PER_PEER, Quotas};

    /// One device cannot fill the relay's store with keys: past its share its new
    /// keys are dropped, while it can still refresh its own as often as it likes, and
    /// another device's still go in.
    #[test]
    fn each_device_has_a_share_of_the_dht_store() {
        let mut quotas = Quotas::default();
        let (greedy, other) = (libp2p::PeerId::random(), libp2p::PeerId::random());
        for n in 0..KEYS_PER_PEER {
            assert!(quotas.allow(greedy, &[n as u8]));
        }
        assert!(!quotas.allow(greedy, b"one more"));
        for _ in 0..100 {
            assert!(quotas.allow(greedy, &[0]), "a refresh of its own key");
        }
        assert!(quotas.allow(other, b"one more"));
    }
}
