//! Rendezvous on the couple's DHT servers, under a throwaway identity.
//!
//! The device's own PeerId never speaks Kademlia. Records are stored and looked up
//! by a small swarm of its own (Kademlia client only: no listener, no identify, no
//! relay) whose Ed25519 identity is made fresh at every network start, when the
//! UTC day turns, and whenever the record to publish changes key. A DHT server
//! therefore sees an identity it has never seen store one day's key and look up
//! the partner's keys around that day; it cannot tie that identity to the device's
//! PeerId. Lookups cover yesterday's and tomorrow's keys too (clocks and time zones
//! differ), so a server can chain one day's identities to the next by the keys
//! they ask for: it learns that some pair of devices keeps meeting, not which.
//! What it also sees: the IP address and timing of each query, and the record's
//! size (`docs/relay.md`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, kad};

use crate::stack::{self, Role};
use crate::{NetError, NetEvent};

/// How often a published record is stored again (DHT servers forget on restart).
const REPUBLISH: Duration = Duration::from_secs(120);

/// How long a connection to a DHT server stays open unused: long enough that the
/// lookups every 10 s while the partner is away reuse it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type KadSwarm = Swarm<kad::Behaviour<kad::store::MemoryStore>>;

pub(crate) struct Rendezvous {
    swarm: KadSwarm,
    /// The DHT servers, each at the address it was given.
    servers: HashMap<PeerId, Multiaddr>,
    /// The record to keep stored, and when to store it again.
    published: Option<(kad::Record, Instant)>,
    /// The UTC day the current identity was made on.
    day: u64,
}

/// Days since the Unix epoch, in UTC.
fn utc_day() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

impl Rendezvous {
    pub(crate) fn new() -> Result<Rendezvous, NetError> {
        Ok(Rendezvous {
            swarm: build()?,
            servers: HashMap::new(),
            published: None,
            day: utc_day(),
        })
    }

    /// The identity the DHT servers see now.
    #[cfg(test)]
    pub(crate) fn identity(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    pub(crate) fn add_server(&mut self, peer: PeerId, addr: Multiaddr) {
        self.swarm.behaviour_mut().add_address(&peer, addr.clone());
        self.servers.insert(peer, addr);
    }

    /// Keeps `record` stored on every server, replacing the one published before.
    /// A record under a new key (a new day) goes out under a new identity, so the
    /// servers cannot link one day's queries to the next.
    pub(crate) fn publish(&mut self, record: kad::Record) {
        if self
            .published
            .as_ref()
            .is_some_and(|(old, _)| old.key != record.key)
        {
            self.rotate();
        }
        self.published = Some((record, Instant::now()));
        self.republish_if_due();
    }

    pub(crate) fn lookup(&mut self, key: kad::RecordKey) {
        self.swarm.behaviour_mut().get_record(key);
    }

    /// Stores the record again when it is due; a new day gets a new identity.
    pub(crate) fn republish_if_due(&mut self) {
        if utc_day() != self.day {
            self.rotate();
            if let Some((_, at)) = &mut self.published {
                *at = Instant::now();
            }
        }
        let now = Instant::now();
        let Some((record, at)) = &mut self.published else {
            return;
        };
        if *at > now || self.servers.is_empty() {
            return;
        }
        *at = now + REPUBLISH;
        // Stored on every server without a lookup first: the couple's DHT is a
        // handful of servers, not a public network.
        let record = record.clone();
        let servers: Vec<PeerId> = self.servers.keys().copied().collect();
        self.swarm
            .behaviour_mut()
            .put_record_to(record, servers.into_iter(), kad::Quorum::One);
    }

    /// Drops the current identity and its connections; the next queries go out
    /// under a fresh one.
    fn rotate(&mut self) {
        match build() {
            Ok(swarm) => {
                self.swarm = swarm;
                self.day = utc_day();
                let servers = std::mem::take(&mut self.servers);
                for (peer, addr) in servers {
                    self.add_server(peer, addr);
                }
                tracing::debug!("a new identity for the DHT");
            }
            Err(e) => tracing::warn!(error = %e, "could not make a new identity for the DHT"),
        }
    }

    /// The next event of the rendezvous swarm.
    pub(crate) async fn next(&mut self) -> SwarmEvent<kad::Event> {
        futures::StreamExt::select_next_some(&mut self.swarm).await
    }

    /// What an event of the rendezvous swarm means for the engine: only a found
    /// record does.
    pub(crate) fn on_event(&mut self, event: SwarmEvent<kad::Event>) -> Option<NetEvent> {
        match event {
            SwarmEvent::Behaviour(kad::Event::OutboundQueryProgressed { result, .. }) => {
                match result {
                    kad::QueryResult::GetRecord(Ok(kad::GetRecordOk::FoundRecord(found))) => {
                        let record = found.record;
                        return Some(NetEvent::Found {
                            key: record.key.to_vec(),
                            value: record.value,
                        });
                    }
                    kad::QueryResult::GetRecord(Err(e)) => {
                        tracing::debug!(error = %e, "rendezvous lookup found nothing");
                    }
                    kad::QueryResult::PutRecord(Err(e)) => {
                        tracing::debug!(error = %e, "rendezvous record not stored");
                    }
                    _ => {}
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "could not reach a DHT server");
            }
            _ => {}
        }
        None
    }
}

/// A Kademlia client swarm under a fresh identity.
fn build() -> Result<KadSwarm, NetError> {
    let behaviour = |key: &Keypair, _: Option<libp2p::relay::client::Behaviour>| {
        let local = key.public().to_peer_id();
        let mut config = stack::kad_config();
        // Records are refreshed by hand; the couple's few servers need no
        // bootstrapping.
        config.set_publication_interval(None);
        config.set_periodic_bootstrap_interval(None);
        let mut kad =
            kad::Behaviour::with_config(local, kad::store::MemoryStore::new(local), config);
        // It answers nobody's queries, and listens nowhere.
        kad.set_mode(Some(kad::Mode::Client));
        Ok(kad)
    };
    stack::build(
        Keypair::generate_ed25519(),
        Role::Rendezvous,
        behaviour,
        |c| c.with_idle_connection_timeout(IDLE_TIMEOUT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record for a new day goes out under a new identity; refreshing the same
    /// day's record keeps it.
    #[tokio::test]
    async fn a_new_day_gets_a_new_identity() {
        let mut rendezvous = Rendezvous::new().unwrap();
        let first = rendezvous.identity();
        let record = |key: &[u8], value: &[u8]| {
            kad::Record::new(kad::RecordKey::new(&key.to_vec()), value.to_vec())
        };
        rendezvous.publish(record(b"day 1", b"here"));
        rendezvous.publish(record(b"day 1", b"moved"));
        assert_eq!(rendezvous.identity(), first);
        rendezvous.publish(record(b"day 2", b"here"));
        assert_ne!(rendezvous.identity(), first);
        assert_ne!(Rendezvous::new().unwrap().identity(), first);
    }
}
