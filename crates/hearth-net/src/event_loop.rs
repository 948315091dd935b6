//! The one task that owns the swarm: a `select!` over swarm events, commands from
//! [`Net`](crate::Net) handles, and inbound Hearth streams.
//!
//! **Rule: this task never waits on the engine.** The engine awaits this task's
//! replies to commands (`dial`, `listen_addrs`, `is_connected`…) from inside the
//! same loop that reads our events; if this task in turn awaited room in the event
//! channel, a full channel would leave each waiting on the other forever. So events
//! are never sent with `send().await`: they go to an outbox, in order, and one
//! `select!` branch moves them into the channel as it has room
//! (`Sender::reserve`). Commands are always served. To keep the outbox bounded,
//! once it holds [`OUTBOX_CAP`] events the loop stops polling the swarm and the
//! queue of inbound streams (which are what produce events) until the engine
//! catches up: backpressure on the network, never a wait on the engine. Inbound
//! streams are taken off libp2p-stream by a task of their own ([`take_inbound`])
//! into a bounded queue, so a pause does not lose them. (libp2p-stream still resets
//! a stream of a protocol that arrives in the same poll of its connection as the
//! one before, before any task can take it: every protocol above retries.)

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol as AddrPart;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, autonat, dcutr, identify, kad, mdns, ping, relay, upnp};

use libp2p_stream::IncomingStreams;
use tokio::sync::mpsc;

use crate::gate::Gate;
use crate::rendezvous::Rendezvous;
use crate::stack::{self, BehaviourError, Role, ip_of};
use crate::{
    Command, FramedStream, NetConfig, NetError, NetEvent, Protocol, Route, device_id, keypair,
    peer_id,
};

/// How often a paired device asks the LAN who is around.
const PAIRED_MDNS_INTERVAL: Duration = Duration::from_secs(60);
/// How long an idle connection stays open. The sync stream keeps the partner's
/// connection busy; this only bounds connections nobody uses.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Addresses of one peer dialled at the same time.
const DIAL_CONCURRENCY: std::num::NonZeroU8 = std::num::NonZeroU8::new(16).expect("16 is not zero");

/// How often housekeeping runs: relay reservations lost, records to refresh.
const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// How long to wait before asking a relay that refused or dropped us again.
const RELAY_RETRY: Duration = Duration::from_secs(2);

/// How long a relayed connection stays open once a direct one is up, so that what
/// runs on it (a pairing handshake, a sync session) can finish or move over.
const RELAYED_GRACE: Duration = Duration::from_secs(10);

/// Inbound streams taken off the listeners and not yet looked at by the loop,
/// beyond which more are turned away (reset).
const INBOUND_QUEUE: usize = 64;

/// Events waiting for room in the event channel beyond which the swarm and the
/// inbound streams are no longer polled. One swarm event may add a few events, so
/// the outbox can pass this by that much.
const OUTBOX_CAP: usize = 4096;

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First, so that a refused peer never reaches the other behaviours.
    gate: Gate,
    relay: relay::client::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    dcutr: dcutr::Behaviour,
    autonat: autonat::v2::client::Behaviour,
    upnp: Toggle<upnp::tokio::Behaviour>,
    mdns: Toggle<mdns::tokio::Behaviour>,
    stream: libp2p_stream::Behaviour,
}

impl Behaviour {
    /// A device's behaviours; mDNS asks who is around every `mdns` when given.
    fn new(
        key: &Keypair,
        relay: relay::client::Behaviour,
        mdns: Option<Duration>,
        upnp: bool,
        gate: Gate,
    ) -> Result<Behaviour, BehaviourError> {
        let local = key.public().to_peer_id();
        let mdns = match mdns {
            Some(query_interval) => {
                let config = mdns::Config {
                    query_interval,
                    ..mdns::Config::default()
                };
                Some(mdns::tokio::Behaviour::new(config, local)?)
            }
            None => None,
        };
        Ok(Behaviour {
            gate,
            relay,
            identify: stack::identify(key, true),
            ping: ping::Behaviour::default(),
            dcutr: dcutr::Behaviour::new(local),
            autonat: autonat::v2::client::Behaviour::default(),
            upnp: Toggle::from(upnp.then(upnp::tokio::Behaviour::default)),
            mdns: Toggle::from(mdns),
            stream: libp2p_stream::Behaviour::new(),
        })
    }
}

/// A relay this device keeps a reservation on.
struct RelaySlot {
    addr: Multiaddr,
    listener: Option<ListenerId>,
    retry_at: Instant,
}

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Events not yet in the channel, oldest first (see the module docs).
    outbox: VecDeque<NetEvent>,
    /// [`OUTBOX_CAP`], smaller in tests.
    outbox_cap: usize,
    /// The protocols' listeners, until [`EventLoop::run`] hands them to
    /// [`take_inbound`].
    listeners: Vec<(Protocol, IncomingStreams)>,
    relays: HashMap<PeerId, RelaySlot>,
    /// Storing and looking up rendezvous records, under an identity of its own.
    rendezvous: Rendezvous,
    /// The path each open connection takes, per peer.
    routes: HashMap<PeerId, HashMap<ConnectionId, Route>>,
    /// Addresses mDNS found on this LAN.
    nearby_addrs: HashSet<Multiaddr>,
    /// What [`NetEvent::Reachable`] said last.
    reachable: Vec<String>,
    /// Relayed connections to close, and when: a direct path to the peer is up.
    superseded: HashMap<ConnectionId, (PeerId, Instant)>,
}

impl EventLoop {
    pub(crate) fn new(
        config: NetConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetEvent>,
    ) -> Result<(EventLoop, libp2p_stream::Control), NetError> {
        let start = |e: &dyn std::fmt::Display| NetError::Start(e.to_string());
        let keypair = keypair(&config.identity_secret)?;
        let network = config.network;
        // Paired, the partner is found by its own query as it starts and by the
        // remembered addresses: ask the LAN who is around rarely, so the device's
        // id is announced as little as works.
        let query_interval = if config.policy.partner.is_some() {
            config.mdns_query_interval.max(PAIRED_MDNS_INTERVAL)
        } else {
            config.mdns_query_interval
        };
        let mdns = network.mdns.then_some(query_interval);
        let upnp = network.upnp_in_use();
        let (partner, mailbox) = gate_peers(&config.policy)?;
        let open = config.policy.open;
        let behaviour = |key: &Keypair, relay: Option<relay::client::Behaviour>| {
            let relay = relay.ok_or("a device's swarm has a relay client")?;
            let gate = Gate::new(partner, mailbox.clone(), open);
            Behaviour::new(key, relay, mdns, upnp, gate)
        };
        let mut swarm = stack::build(keypair, Role::Device, behaviour, |c| {
            // A partner's remembered addresses (up to 16) are dialled all at
            // once: behind a NAT that drops what it did not ask for, a dead
            // direct address only fails after a timeout, and the circuit on the
            // relay must not wait behind it.
            c.with_idle_connection_timeout(IDLE_TIMEOUT)
                .with_dial_concurrency_factor(DIAL_CONCURRENCY)
        })?;

        let listen = if network.listen.is_empty() {
            vec![
                "/ip4/0.0.0.0/tcp/0".to_string(),
                "/ip4/0.0.0.0/udp/0/quic-v1".to_string(),
            ]
        } else {
            network.listen.clone()
        };
        stack::listen_all(&mut swarm, &listen)?;

        let mut control = swarm.behaviour().stream.new_control();
        let listeners = [
            Protocol::Pair,
            Protocol::Sync,
            Protocol::File,
            Protocol::Mailbox,
        ]
        .into_iter()
        .map(|protocol| {
            let incoming = control
                .accept(protocol.stream_protocol())
                .map_err(|e| start(&e))?;
            Ok((protocol, incoming))
        })
        .collect::<Result<Vec<_>, NetError>>()?;
        let mut event_loop = EventLoop {
            swarm,
            commands,
            events,
            outbox: VecDeque::new(),
            outbox_cap: OUTBOX_CAP,
            listeners,
            relays: HashMap::new(),
            rendezvous: Rendezvous::new()?,
            routes: HashMap::new(),
            nearby_addrs: HashSet::new(),
            reachable: Vec::new(),
            superseded: HashMap::new(),
        };
        event_loop.add_dht(network.dht_in_use());
        event_loop.add_relays(network.relays_in_use());
        Ok((event_loop, control))
    }

    /// Splits `/…/p2p/<id>` into the peer and the whole address.
    fn infrastructure_addr(addr: &str) -> Option<(PeerId, Multiaddr)> {
        let parsed: Multiaddr = match addr.parse() {
            Ok(parsed) => parsed,
            Err(_) => {
                tracing::warn!(%addr, "not a multiaddr; ignored");
                return None;
            }
        };
        match parsed.iter().last() {
            Some(AddrPart::P2p(peer)) => Some((peer, parsed)),
            _ => {
                tracing::warn!(%addr, "a relay or DHT address must end in /p2p/<peer id>; ignored");
                None
            }
        }
    }

    fn add_dht(&mut self, addrs: &[String]) {
        for (peer, addr) in addrs.iter().filter_map(|a| Self::infrastructure_addr(a)) {
            self.rendezvous.add_server(peer, addr);
        }
    }

    fn add_relays(&mut self, addrs: &[String]) {
        let mut added = Vec::new();
        for (peer, addr) in addrs.iter().filter_map(|a| Self::infrastructure_addr(a)) {
            if self.relays.contains_key(&peer) || peer == *self.swarm.local_peer_id() {
                continue;
            }
            tracing::info!(relay = %addr, "keeping a reservation on a relay");
            self.swarm.behaviour_mut().gate.allow_infrastructure(peer);
            self.relays.insert(
                peer,
                RelaySlot {
                    addr: addr.clone(),
                    listener: None,
                    retry_at: Instant::now(),
                },
            );
            added.push(addr.to_string());
        }
        // Every `hearth relay` is a DHT server as well.
        self.add_dht(&added);
        self.reserve();
    }

    /// Asks every relay without a live reservation for one, when its retry is due.
    fn reserve(&mut self) {
        let now = Instant::now();
        for slot in self.relays.values_mut() {
            if slot.listener.is_some() || slot.retry_at > now {
                continue;
            }
            let circuit = slot.addr.clone().with(AddrPart::P2pCircuit);
            match self.swarm.listen_on(circuit) {
                Ok(id) => slot.listener = Some(id),
                Err(e) => {
                    tracing::debug!(relay = %slot.addr, error = %e, "could not ask for a reservation");
                    slot.retry_at = now + RELAY_RETRY;
                }
            }
        }
    }

    fn housekeeping(&mut self) {
        self.reserve();
        let now = Instant::now();
        let due: Vec<(ConnectionId, PeerId)> = self
            .superseded
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, (peer, _))| (*id, *peer))
            .collect();
        for (id, peer) in due {
            self.superseded.remove(&id);
            // Only if the direct path is still there.
            if self.best_route(&peer).is_some_and(|r| r > Route::Relayed) {
                tracing::info!(%peer, "a direct connection is up: closing the relayed one");
                self.swarm.close_connection(id);
            }
        }
        self.rendezvous.republish_if_due();
    }

    /// Where other devices can reach this one: addresses confirmed from outside,
    /// circuits on relays, then listen addresses (loopback last).
    fn reachable_addrs(&self) -> Vec<String> {
        let local = *self.swarm.local_peer_id();
        let strip = |a: &Multiaddr| {
            let mut a = a.clone();
            if matches!(a.iter().last(), Some(AddrPart::P2p(p)) if p == local) {
                a.pop();
            }
            a
        };
        let mut out: Vec<Multiaddr> = self.swarm.external_addresses().map(strip).collect();
        let (circuits, direct): (Vec<Multiaddr>, Vec<Multiaddr>) = self
            .swarm
            .listeners()
            .map(strip)
            .partition(|a| a.iter().any(|p| p == AddrPart::P2pCircuit));
        out.extend(circuits);
        let (loopback, other): (Vec<Multiaddr>, Vec<Multiaddr>) = direct
            .into_iter()
            .partition(|a| ip_of(a).is_some_and(|ip| ip.is_loopback()));
        out.extend(other);
        out.extend(loopback);
        let mut seen = HashSet::new();
        out.into_iter()
            .map(|a| a.to_string())
            .filter(|a| seen.insert(a.clone()))
            .collect()
    }

    fn report_reachable(&mut self) {
        let now = self.reachable_addrs();
        if now == self.reachable {
            return;
        }
        self.reachable = now.clone();
        self.emit(NetEvent::Reachable { addrs: now });
    }

    /// Queues an event for the engine; never waits (see the module docs).
    fn emit(&mut self, event: NetEvent) {
        self.outbox.push_back(event);
    }

    fn route_of(&self, endpoint: &ConnectedPoint) -> Route {
        if endpoint.is_relayed() {
            return Route::Relayed;
        }
        let addr = endpoint.get_remote_address();
        let mut bare = addr.clone();
        if matches!(bare.iter().last(), Some(AddrPart::P2p(_))) {
            bare.pop();
        }
        let lan = ip_of(&bare).is_some_and(|ip| match ip {
            IpAddr::V4(ip) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
            IpAddr::V6(ip) => {
                ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
            }
        });
        if lan || self.nearby_addrs.contains(&bare) {
            Route::Nearby
        } else {
            Route::Direct
        }
    }

    fn best_route(&self, peer: &PeerId) -> Option<Route> {
        self.routes.get(peer)?.values().copied().max()
    }

    /// Records a connection's path; once a direct one exists, closes the relayed
    /// ones (after a grace period) so the partner's traffic stops passing through
    /// the relay.
    fn route_changed(&mut self, peer_id: PeerId, before: Option<Route>) {
        let now = self.best_route(&peer_id);
        if now.is_some_and(|r| r > Route::Relayed)
            && let Some(connections) = self.routes.get(&peer_id)
        {
            let relayed: Vec<ConnectionId> = connections
                .iter()
                .filter(|(_, r)| **r == Route::Relayed)
                .map(|(id, _)| *id)
                .collect();
            for id in relayed {
                self.superseded
                    .entry(id)
                    .or_insert((peer_id, Instant::now() + RELAYED_GRACE));
            }
        }
        if now == before || self.swarm.behaviour().gate.is_infrastructure(&peer_id) {
            return;
        }
        let Some(peer) = device_id(&peer_id) else {
            return;
        };
        self.emit(NetEvent::Route { peer, route: now });
    }

    pub(crate) async fn run(mut self) {
        let mut stopped = None;
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        // A clone, so that a slot reserved in it borrows this and not `self`.
        let events = self.events.clone();
        let (inbound_tx, mut inbound) = mpsc::channel(INBOUND_QUEUE);
        let taker = tokio::spawn(tracing::Instrument::in_current_span(take_inbound(
            std::mem::take(&mut self.listeners),
            inbound_tx,
        )));
        loop {
            // Backpressure: with this many events waiting for the engine, what
            // produces events waits too. Commands are served all the same.
            let open = self.outbox.len() < self.outbox_cap;
            let keep_going = tokio::select! {
                permit = events.reserve(), if !self.outbox.is_empty() => match permit {
                    Ok(permit) => deliver(permit, &events, &mut self.outbox),
                    // The engine is gone.
                    Err(_) => false,
                },
                event = self.swarm.select_next_some(), if open => {
                    self.on_swarm_event(event);
                    true
                }
                event = self.rendezvous.next(), if open => {
                    if let Some(event) = self.rendezvous.on_event(event) {
                        self.emit(event);
                    }
                    true
                }
                _ = housekeeping.tick() => {
                    self.housekeeping();
                    true
                }
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        stopped = Some(reply);
                        false
                    }
                    Some(command) => {
                        self.on_command(command);
                        true
                    }
                    // Every handle is gone: the node is shutting down.
                    None => false,
                },
                Some((peer, stream, protocol)) = inbound.recv(), if open => {
                    self.on_incoming(peer, stream, protocol);
                    true
                }
            };
            if !keep_going {
                break;
            }
        }
        taker.abort();
        // Dropping the swarm closes its listeners and connections.
        drop(self.swarm);
        tracing::debug!("network stopped");
        if let Some(reply) = stopped {
            let _ = reply.send(());
        }
    }

    fn local_addr(&self, addr: &Multiaddr) -> String {
        let local = *self.swarm.local_peer_id();
        // Circuit addresses on a relay already end in this device's id.
        if matches!(addr.iter().last(), Some(AddrPart::P2p(p)) if p == local) {
            return addr.to_string();
        }
        addr.clone().with(AddrPart::P2p(local)).to_string()
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let addr = self.local_addr(&address);
                tracing::info!(%addr, "listening");
                self.emit(NetEvent::Listening { addr });
                self.report_reachable();
            }
            SwarmEvent::ExpiredListenAddr { .. }
            | SwarmEvent::ExternalAddrConfirmed { .. }
            | SwarmEvent::ExternalAddrExpired { .. } => self.report_reachable(),
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                for slot in self.relays.values_mut() {
                    if slot.listener == Some(listener_id) {
                        tracing::info!(relay = %slot.addr, ?reason, "relay reservation lost; will ask again");
                        slot.listener = None;
                        slot.retry_at = Instant::now() + RELAY_RETRY;
                    }
                }
                self.report_reachable();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                let Some(peer) = device_id(&peer_id) else {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                };
                let route = self.route_of(&endpoint);
                tracing::debug!(%peer_id, ?route, "connected");
                let before = self.best_route(&peer_id);
                self.routes
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id, route);
                if self.swarm.behaviour().gate.is_infrastructure(&peer_id) {
                    return;
                }
                if num_established.get() == 1 {
                    let addr = endpoint.get_remote_address().to_string();
                    self.emit(NetEvent::Connected { peer, addr });
                }
                self.route_changed(peer_id, before);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(%peer_id, ?cause, "connection closed");
                let before = self.best_route(&peer_id);
                self.superseded.remove(&connection_id);
                if let Some(connections) = self.routes.get_mut(&peer_id) {
                    connections.remove(&connection_id);
                    if connections.is_empty() {
                        self.routes.remove(&peer_id);
                    }
                }
                if self.swarm.behaviour().gate.is_infrastructure(&peer_id) {
                    return;
                }
                self.route_changed(peer_id, before);
                if let Some(peer) = device_id(&peer_id)
                    && num_established == 0
                {
                    self.emit(NetEvent::Disconnected { peer });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => {
                tracing::info!(?event, "relay");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => match result {
                Ok(_) => tracing::info!(peer = %remote_peer_id, "hole punch succeeded"),
                Err(e) => {
                    tracing::info!(peer = %remote_peer_id, error = %e, "hole punch failed")
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
                for (peer, addr) in found {
                    by_peer.entry(peer).or_default().push(addr);
                }
                for (peer_id, addrs) in by_peer {
                    self.nearby_addrs.extend(addrs.iter().cloned());
                    if !self.swarm.behaviour().gate.allows(&peer_id) {
                        continue;
                    }
                    let Some(peer) = device_id(&peer_id) else {
                        continue;
                    };
                    for addr in &addrs {
                        self.swarm.add_peer_address(peer_id, addr.clone());
                    }
                    let addrs = addrs.iter().map(ToString::to_string).collect();
                    self.emit(NetEvent::Addresses {
                        peer,
                        addrs,
                        nearby: true,
                    });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let Some(peer) = device_id(&peer_id) else {
                    return;
                };
                if self.swarm.behaviour().gate.is_infrastructure(&peer_id) {
                    // Relays are not devices to tell the engine about.
                    return;
                }
                for addr in &info.listen_addrs {
                    self.swarm.add_peer_address(peer_id, addr.clone());
                }
                let addrs = info.listen_addrs.iter().map(ToString::to_string).collect();
                self.emit(NetEvent::Addresses {
                    peer,
                    addrs,
                    nearby: false,
                });
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!(%error, "incoming connection refused");
            }
            _ => {}
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Dial { peer, addrs, reply } => {
                let _ = reply.send(self.dial(peer, addrs));
            }
            Command::SetPolicy { policy } => {
                let Ok((partner, mailbox)) = gate_peers(&policy) else {
                    tracing::warn!("a policy naming a peer that is not a device; ignored");
                    return;
                };
                self.swarm
                    .behaviour_mut()
                    .gate
                    .set(partner, mailbox, policy.open);
                let gate = &self.swarm.behaviour().gate;
                let refused: Vec<PeerId> = self
                    .swarm
                    .connected_peers()
                    .filter(|p| !gate.allows(p))
                    .copied()
                    .collect();
                for peer in refused {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Command::ListenAddrs { reply } => {
                let addrs = self.swarm.listeners().map(|a| self.local_addr(a)).collect();
                let _ = reply.send(addrs);
            }
            Command::Disconnect { peer } => {
                if let Ok(peer) = peer_id(peer) {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Command::IsConnected { peer, reply } => {
                let connected = peer_id(peer).is_ok_and(|p| self.swarm.is_connected(&p));
                let _ = reply.send(connected);
            }
            Command::AddRelays { addrs } => self.add_relays(&addrs),
            Command::Publish { key, value } => {
                self.rendezvous
                    .publish(kad::Record::new(kad::RecordKey::new(&key), value));
            }
            Command::Lookup { key } => {
                self.rendezvous.lookup(kad::RecordKey::new(&key));
            }
            // Handled in `run`, which owns the loop.
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    fn dial(
        &mut self,
        peer: Option<hearth_core::DeviceId>,
        addrs: Vec<String>,
    ) -> Result<(), NetError> {
        let mut parsed = Vec::with_capacity(addrs.len());
        for addr in addrs {
            parsed.push(
                addr.parse::<Multiaddr>()
                    .map_err(|_| NetError::BadAddress(addr))?,
            );
        }
        let dial = |swarm: &mut Swarm<Behaviour>, opts: DialOpts| {
            swarm.dial(opts).map_err(|e| NetError::Dial(e.to_string()))
        };
        match peer {
            Some(peer) => {
                let peer = peer_id(peer)?;
                if self.swarm.is_connected(&peer) {
                    return Ok(());
                }
                dial(
                    &mut self.swarm,
                    DialOpts::peer_id(peer).addresses(parsed).build(),
                )
            }
            None => {
                for addr in parsed {
                    dial(
                        &mut self.swarm,
                        DialOpts::unknown_peer_id().address(addr).build(),
                    )?;
                }
                Ok(())
            }
        }
    }

    fn on_incoming(&mut self, peer_id: PeerId, stream: libp2p::Stream, protocol: Protocol) {
        let partner = self.swarm.behaviour().gate.partner_is(&peer_id);
        let allowed = match protocol {
            // Pairing is for devices that have no partner yet.
            Protocol::Pair => self.swarm.behaviour().gate.is_open(),
            Protocol::File => partner,
            // And, while this device has no partner, anyone: a former partner may
            // bring a notice that the pairing ended, which is answered and no more.
            Protocol::Sync => partner || self.swarm.behaviour().gate.is_open(),
            // A mailbox's devices, and anyone while its invite is open (to join).
            Protocol::Mailbox => {
                let gate = &self.swarm.behaviour().gate;
                gate.is_mailbox_peer(&peer_id) || gate.is_open()
            }
        };
        let Some(peer) = device_id(&peer_id).filter(|_| allowed) else {
            tracing::debug!(%peer_id, ?protocol, "refused a stream from a device that is not the partner");
            drop(stream);
            // While unpaired, a device that has just finished pairing with us may open
            // its file stream a moment before we have recorded the pairing: refuse the
            // stream but keep the connection (its sync stream goes to the engine,
            // which reads a notice from it or nothing). Once paired, the gate has
            // already turned strangers away, so anything refused here is misbehaving.
            if !self.swarm.behaviour().gate.is_open() {
                let _ = self.swarm.disconnect_peer_id(peer_id);
            }
            return;
        };
        self.emit(NetEvent::Incoming {
            peer,
            protocol,
            stream: FramedStream::new(stream, protocol.max_frame()),
        });
    }
}

/// The peer ids a policy names: the partner, and the mailbox peers.
fn gate_peers(policy: &crate::Policy) -> Result<(Option<PeerId>, HashSet<PeerId>), NetError> {
    let partner = policy.partner.map(peer_id).transpose()?;
    let mailbox = policy
        .mailbox
        .iter()
        .map(|d| peer_id(*d))
        .collect::<Result<_, _>>()?;
    Ok((partner, mailbox))
}

/// Moves events from the outbox into the channel, oldest first: one into the slot
/// `permit` holds, then as many as fit without waiting. False once the engine is gone.
fn deliver(
    permit: mpsc::Permit<'_, NetEvent>,
    events: &mpsc::Sender<NetEvent>,
    outbox: &mut VecDeque<NetEvent>,
) -> bool {
    let Some(first) = outbox.pop_front() else {
        return true;
    };
    permit.send(first);
    while !outbox.is_empty() {
        match events.try_reserve() {
            Ok(permit) => {
                if let Some(event) = outbox.pop_front() {
                    permit.send(event);
                }
            }
            Err(mpsc::error::TrySendError::Full(())) => break,
            Err(mpsc::error::TrySendError::Closed(())) => return false,
        }
    }
    true
}

/// Takes inbound streams off the protocols' listeners the moment they arrive and
/// queues them for the loop.
///
/// libp2p-stream holds one waiting stream per protocol and resets the next while
/// that slot is full. The loop only looks between swarm events, and not at all
/// while backpressure pauses it, so streams opened together (a partner's sync and
/// file streams after a reconnect, or several pairing attempts) would be lost
/// under load. This task does nothing else, so it is always ready; the queue is
/// bounded, and a stream beyond it is reset as before.
async fn take_inbound(
    listeners: Vec<(Protocol, IncomingStreams)>,
    queue: mpsc::Sender<(PeerId, libp2p::Stream, Protocol)>,
) {
    let mut all =
        futures::stream::select_all(listeners.into_iter().map(|(protocol, incoming)| {
            incoming.map(move |(peer, stream)| (peer, stream, protocol))
        }));
    while let Some(inbound) = all.next().await {
        match queue.try_send(inbound) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full((peer, _, protocol))) => {
                tracing::debug!(%peer, ?protocol, "too many inbound streams waiting: one reset");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Net, NetworkOptions, device_id_of, generate_identity};

    const LISTENERS: usize = 100;
    const ANSWER: Duration = Duration::from_secs(20);

    /// A device's loop with a small outbox and event channel, so that nobody
    /// reading soon pauses it; listening on `listeners` loopback ports.
    fn small_loop(
        listeners: usize,
        outbox_cap: usize,
        channel: usize,
    ) -> (Net, mpsc::Receiver<NetEvent>) {
        let config = NetConfig {
            identity_secret: generate_identity(),
            network: NetworkOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".to_string(); listeners],
                mdns: false,
                internet: false,
                ..NetworkOptions::default()
            },
            mdns_query_interval: Duration::from_secs(1),
            policy: crate::Policy::default(),
        };
        let local = device_id_of(&config.identity_secret).unwrap();
        let (commands, command_rx) = mpsc::channel(8);
        let (events_tx, events) = mpsc::channel(channel);
        let (mut event_loop, control) = EventLoop::new(config, command_rx, events_tx).unwrap();
        event_loop.outbox_cap = outbox_cap;
        tokio::spawn(tracing::Instrument::in_current_span(event_loop.run()));
        let net = Net {
            commands,
            control,
            local,
        };
        (net, events)
    }

    /// With a tiny channel and outbox, nobody reading: the loop stops polling the
    /// swarm (backpressure) yet answers commands, and carries on once drained.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_outbox_pauses_the_swarm_but_not_commands() {
        let (net, mut events) = small_loop(LISTENERS, 8, 4);

        tokio::time::timeout(ANSWER, async {
            while events.len() < events.max_capacity() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the event channel never filled up");
        tokio::time::sleep(Duration::from_millis(500)).await;

        // Each listener gives two events (`Listening`, `Reachable`): with 4 in the
        // channel and 8 in the outbox, the swarm was left alone after a handful.
        let addrs = tokio::time::timeout(ANSWER, net.listen_addrs())
            .await
            .expect("a command went unanswered behind a full outbox")
            .unwrap();
        assert!(
            addrs.len() < 20,
            "the swarm was polled on with a full outbox: {} listeners up",
            addrs.len()
        );

        let mut listening = 0;
        tokio::time::timeout(ANSWER, async {
            while listening < LISTENERS {
                if let NetEvent::Listening { .. } = events.recv().await.unwrap() {
                    listening += 1;
                }
            }
        })
        .await
        .expect("the swarm never resumed once the events were read");
        let addrs = net.listen_addrs().await.unwrap();
        assert_eq!(addrs.len(), LISTENERS);
        net.shutdown().await;
    }

    /// Streams a peer opens while the loop is paused by backpressure are all
    /// there once the engine reads again: none is reset for want of a slot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_opened_while_paused_are_kept() {
        const STREAMS: usize = 24;
        let (alice, mut events) = small_loop(1, 4, 2);
        let local = alice.local();
        let (bob, _bob_events) = crate::spawn(NetConfig {
            identity_secret: generate_identity(),
            network: NetworkOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".to_string()],
                mdns: false,
                internet: false,
                ..NetworkOptions::default()
            },
            mdns_query_interval: Duration::from_secs(1),
            policy: crate::Policy::device(None, None),
        })
        .unwrap();
        bob.dial(Some(local), alice.listen_addrs().await.unwrap())
            .await
            .unwrap();
        // Nobody reads Alice's events: the first streams fill her outbox and the
        // loop pauses; the rest come while it is paused. libp2p-stream itself
        // still resets, now and then, a stream that arrives in the same poll of
        // the connection as the one before (see the module docs): like every
        // protocol above, Bob opens that one again. Before the queue, every
        // stream past the first while the loop was paused was reset, so no
        // number of tries got them through.
        let opened = async {
            let mut streams = Vec::new();
            for n in 0..STREAMS {
                for _ in 0..10 {
                    if let Ok(mut stream) = bob.open(local, Protocol::Pair).await
                        && stream.send(&[n as u8]).await.is_ok()
                    {
                        streams.push(stream);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            streams
        };
        let _streams = tokio::time::timeout(ANSWER, opened)
            .await
            .expect("opening the streams took too long");
        tokio::time::sleep(Duration::from_millis(300)).await;

        let mut heard = std::collections::BTreeSet::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while heard.len() < STREAMS {
                if let NetEvent::Incoming { mut stream, .. } = events.recv().await.unwrap()
                    && let Ok(Ok(frame)) =
                        tokio::time::timeout(Duration::from_secs(2), stream.recv()).await
                {
                    heard.insert(frame[0]);
                }
            }
        })
        .await;
        assert_eq!(
            heard,
            (0..STREAMS as u8).collect(),
            "streams opened while the loop was paused were lost"
        );
        alice.shutdown().await;
        bob.shutdown().await;
    }
}
