//! `hearth relay`: a small libp2p node the couple (or a friend) hosts where both can
//! reach it. It forwards circuits between devices that cannot reach each other
//! directly (circuit relay v2: it sees only the devices' Noise ciphertext), tells
//! devices whether they are reachable (AutoNAT v2), helps them punch holes through
//! their routers (identify reports the addresses it observes), and keeps the
//! couple's sealed rendezvous records (a Kademlia server on Hearth's own protocol).
//!
//! It logs who connects and reserves, never a byte of what it carries.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol as AddrPart;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, autonat, identify, kad, ping, relay};

use crate::stack::{self, Role, ip_of};
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
    .reservation_rate_per_ip(nonzero(60), Duration::from_secs(60))
    .circuit_src_per_peer(nonzero(60), Duration::from_secs(60))
    .circuit_src_per_ip(nonzero(120), Duration::from_secs(60));
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
            identify: stack::identify(key, false),
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
    let mut peers = Peers::default();
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
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                if let Some(ip) = ip_of(endpoint.get_remote_address()) {
                    peers.connected(peer_id, connection_id, quota_address(ip));
                }
                // Who connects from where stays out of the relay's normal logs: its
                // operator learns IPs from the traffic anyway, but need not keep a
                // record of them.
                tracing::info!(peer = %peer_id, "device connected");
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "device connected from");
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                peers.closed(peer_id, connection_id, num_established == 0);
                tracing::info!(peer = %peer_id, "device disconnected");
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(event)) => {
                match &event {
                    relay::Event::ReservationReqAccepted {
                        src_peer_id,
                        renewed: false,
                        ..
                    } if !peers.reserve(*src_peer_id) => {
                        // Past its address's share: the reservation goes with the
                        // connection.
                        tracing::info!(peer = %src_peer_id, "too many reservations from one address; refused");
                        let _ = swarm.disconnect_peer_id(*src_peer_id);
                    }
                    relay::Event::ReservationClosed { src_peer_id }
                    | relay::Event::ReservationTimedOut { src_peer_id } => {
                        peers.unreserve(src_peer_id);
                    }
                    _ => {}
                }
                // Peer ids and errors only: a relay never sees more.
                tracing::info!(?event, "relay");
            }
            SwarmEvent::Behaviour(RelayBehaviourEvent::Kad(kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        connection,
                        record: Some(record),
                    },
            })) => {
                let ip = peers.ip(&connection);
                let kad = &mut swarm.behaviour_mut().kad;
                store_record(kad, &mut quotas, source, ip, record);
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
/// Distinct record keys all devices behind one IP address may store per
/// [`QUOTA_WINDOW`]. Devices publish under a throwaway identity that changes every
/// day and every start, so a share per peer alone would bound nothing: this one
/// does, with room for a few households behind one address.
const KEYS_PER_IP: usize = 16;
const QUOTA_WINDOW: Duration = Duration::from_secs(3600);
/// Reservations held at once by all devices behind one IP address.
const RESERVATIONS_PER_IP: usize = 16;

/// The record keys each device, and each address, stored in the current window.
#[derive(Default)]
struct Quotas {
    window_start: Option<Instant>,
    by_peer: HashMap<PeerId, HashSet<Vec<u8>>>,
    by_ip: HashMap<IpAddr, HashSet<Vec<u8>>>,
}

impl Quotas {
    /// Whether `peer`, connected from `ip`, may store under `key`: always for a key
    /// both already stored in this window (a refresh or a new address), for a new
    /// key while each holds fewer than its share.
    fn allow(&mut self, peer: PeerId, ip: Option<IpAddr>, key: &[u8]) -> bool {
        let now = Instant::now();
        if self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= QUOTA_WINDOW)
        {
            self.window_start = Some(now);
            self.by_peer.clear();
            self.by_ip.clear();
        }
        let fits = |held: Option<&HashSet<Vec<u8>>>, share: usize| {
            held.is_none_or(|held| held.contains(key) || held.len() < share)
        };
        let ip_fits = ip.is_none_or(|ip| fits(self.by_ip.get(&ip), KEYS_PER_IP));
        // Fresh identities refreshing one key cost an entry each: bounded too.
        let room = self.by_peer.contains_key(&peer) || self.by_peer.len() < MAX_RECORDS;
        if !fits(self.by_peer.get(&peer), KEYS_PER_PEER) || !ip_fits || !room {
            return false;
        }
        self.by_peer.entry(peer).or_default().insert(key.to_vec());
        if let Some(ip) = ip {
            self.by_ip.entry(ip).or_default().insert(key.to_vec());
        }
        true
    }
}

/// Where each connected device connects from, and which hold reservations.
#[derive(Default)]
struct Peers {
    connections: HashMap<ConnectionId, (PeerId, IpAddr)>,
    reserved: HashMap<PeerId, IpAddr>,
}

impl Peers {
    fn connected(&mut self, peer: PeerId, connection: ConnectionId, ip: IpAddr) {
        self.connections.insert(connection, (peer, ip));
    }

    fn closed(&mut self, peer: PeerId, connection: ConnectionId, last: bool) {
        self.connections.remove(&connection);
        if last {
            self.reserved.remove(&peer);
        }
    }

    fn ip(&self, connection: &ConnectionId) -> Option<IpAddr> {
        self.connections.get(connection).map(|(_, ip)| *ip)
    }

    /// Records a new reservation of `peer`; false when its address already holds
    /// its share.
    fn reserve(&mut self, peer: PeerId) -> bool {
        let Some(ip) = self
            .connections
            .values()
            .find(|(p, _)| *p == peer)
            .map(|(_, ip)| *ip)
        else {
            // A reservation comes over a connection; one whose address is not
            // known (not IP) is let be.
            return true;
        };
        let held = self
            .reserved
            .iter()
            .filter(|(p, at)| **p != peer && **at == ip)
            .count();
        if held >= RESERVATIONS_PER_IP {
            return false;
        }
        self.reserved.insert(peer, ip);
        true
    }

    fn unreserve(&mut self, peer: &PeerId) {
        self.reserved.remove(peer);
    }
}

/// Takes in a record a device asked to store, within its quotas and the store's
/// limits; anything else is dropped (and said at debug level only).
fn store_record(
    kad: &mut kad::Behaviour<kad::store::MemoryStore>,
    quotas: &mut Quotas,
    source: PeerId,
    ip: Option<IpAddr>,
    record: kad::Record,
) {
    if !quotas.allow(source, ip, record.key.as_ref()) {
        tracing::debug!(peer = %source, "a device or its address is over its share of the DHT store");
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
    ip_of(addr).is_some_and(|ip| ip.is_loopback())
}

/// The address quotas count by: an IPv4 address, or an IPv6 /64 (one household
/// or host gets a whole /64, so counting single IPv6 addresses bounds nothing).
fn quota_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    /// One device cannot fill the relay's store with keys: past its share its new
    /// keys are dropped, while it can still refresh its own as often as it likes, and
    /// another device's still go in.
    #[test]
    fn each_device_has_a_share_of_the_dht_store() {
        let mut quotas = Quotas::default();
        let (greedy, other) = (PeerId::random(), PeerId::random());
        for n in 0..KEYS_PER_PEER {
            assert!(quotas.allow(greedy, Some(ip(1)), &[n as u8]));
        }
        assert!(!quotas.allow(greedy, Some(ip(1)), b"one more"));
        for _ in 0..100 {
            assert!(
                quotas.allow(greedy, Some(ip(1)), &[0]),
                "a refresh of its own key"
            );
        }
        assert!(quotas.allow(other, Some(ip(2)), b"one more"));
    }

    /// Addresses of one IPv6 /64 count as one; an IPv4 address mapped into IPv6 as
    /// itself.
    #[test]
    fn quotas_count_an_ipv6_network_as_one_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(quota_address(a), quota_address(b));
        assert_ne!(quota_address(a), quota_address(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(quota_address(mapped), ip(7));
    }

    /// New identities from one address do not get new shares: the address has one
    /// of its own, while other addresses are untouched.
    #[test]
    fn fresh_identities_from_one_address_share_its_quota() {
        let mut quotas = Quotas::default();
        let stored = (0..100usize)
            .filter(|n| quotas.allow(PeerId::random(), Some(ip(1)), &n.to_be_bytes()))
            .count();
        assert_eq!(stored, KEYS_PER_IP);
        assert!(
            quotas.allow(PeerId::random(), Some(ip(1)), &0usize.to_be_bytes()),
            "a key the address holds is refreshed by its next identity"
        );
        assert!(quotas.allow(PeerId::random(), Some(ip(2)), b"elsewhere"));
    }

    /// One address holds at most its share of reservations, however many
    /// identities it uses; a renewal and a device elsewhere are not refused.
    #[test]
    fn one_address_holds_a_bounded_share_of_reservations() {
        let mut peers = Peers::default();
        let mut accepted = Vec::new();
        for n in 0..40 {
            let peer = PeerId::random();
            peers.connected(peer, ConnectionId::new_unchecked(n), ip(1));
            if peers.reserve(peer) {
                accepted.push(peer);
            }
        }
        assert_eq!(accepted.len(), RESERVATIONS_PER_IP);
        assert!(peers.reserve(accepted[0]), "asking again for its own");
        let elsewhere = PeerId::random();
        peers.connected(elsewhere, ConnectionId::new_unchecked(99), ip(2));
        assert!(peers.reserve(elsewhere));
        // One leaves: there is room again.
        peers.closed(accepted[0], ConnectionId::new_unchecked(0), true);
        let late = PeerId::random();
        peers.connected(late, ConnectionId::new_unchecked(100), ip(1));
        assert!(peers.reserve(late));
    }
}
