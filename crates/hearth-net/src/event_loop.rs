//! The one task that owns the swarm: a `select!` over swarm events, commands from
//! [`Net`](crate::Net) handles, and inbound Hearth streams.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol as AddrPart;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns, noise, ping, tcp, yamux};
use libp2p_stream::IncomingStreams;
use tokio::sync::mpsc;

use crate::gate::Gate;
use crate::{
    Command, FramedStream, NetConfig, NetError, NetEvent, Protocol, device_id, keypair, peer_id,
};

/// How long an idle connection stays open. The sync stream keeps the partner's
/// connection busy; this only bounds connections nobody uses.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First, so that a refused peer never reaches the other behaviours.
    gate: Gate,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    stream: libp2p_stream::Behaviour,
}

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    incoming_pair: IncomingStreams,
    incoming_sync: IncomingStreams,
    incoming_file: IncomingStreams,
}

impl EventLoop {
    pub(crate) fn new(
        config: NetConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetEvent>,
    ) -> Result<(EventLoop, libp2p_stream::Control), NetError> {
        let start = |e: &dyn std::fmt::Display| NetError::Start(e.to_string());
        let keypair = keypair(&config.identity_secret)?;
        let mdns_on = config.mdns;
        let mdns_interval = config.mdns_query_interval;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| start(&e))?
            .with_quic()
            .with_dns()
            .map_err(|e| start(&e))?
            .with_behaviour(|key| {
                let mdns = if mdns_on {
                    let config = mdns::Config {
                        query_interval: mdns_interval,
                        ..mdns::Config::default()
                    };
                    Some(mdns::tokio::Behaviour::new(
                        config,
                        key.public().to_peer_id(),
                    )?)
                } else {
                    None
                };
                Ok(Behaviour {
                    gate: Gate::default(),
                    identify: identify::Behaviour::new(identify::Config::new(
                        "/hearth/id/1".into(),
                        key.public(),
                    )),
                    ping: ping::Behaviour::default(),
                    mdns: Toggle::from(mdns),
                    stream: libp2p_stream::Behaviour::new(),
                })
            })
            .map_err(|e| start(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();

        let listen = if config.listen.is_empty() {
            vec![
                "/ip4/0.0.0.0/tcp/0".to_string(),
                "/ip4/0.0.0.0/udp/0/quic-v1".to_string(),
            ]
        } else {
            config.listen
        };
        for addr in listen {
            let parsed: Multiaddr = addr
                .parse()
                .map_err(|_| NetError::BadAddress(addr.clone()))?;
            swarm.listen_on(parsed).map_err(|e| start(&e))?;
        }

        let mut control = swarm.behaviour().stream.new_control();
        let incoming_pair = control
            .accept(Protocol::Pair.stream_protocol())
            .map_err(|e| start(&e))?;
        let incoming_sync = control
            .accept(Protocol::Sync.stream_protocol())
            .map_err(|e| start(&e))?;
        let incoming_file = control
            .accept(Protocol::File.stream_protocol())
            .map_err(|e| start(&e))?;
        Ok((
            EventLoop {
                swarm,
                commands,
                events,
                incoming_pair,
                incoming_sync,
                incoming_file,
            },
            control,
        ))
    }

    pub(crate) async fn run(mut self) {
        let mut stopped = None;
        loop {
            let keep_going = tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
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
                Some((peer, stream)) = self.incoming_pair.next() => {
                    self.on_incoming(peer, stream, Protocol::Pair).await
                }
                Some((peer, stream)) = self.incoming_sync.next() => {
                    self.on_incoming(peer, stream, Protocol::Sync).await
                }
                Some((peer, stream)) = self.incoming_file.next() => {
                    self.on_incoming(peer, stream, Protocol::File).await
                }
            };
            if !keep_going {
                break;
            }
        }
        // Dropping the swarm closes its listeners and connections.
        drop(self.swarm);
        tracing::debug!("network stopped");
        if let Some(reply) = stopped {
            let _ = reply.send(());
        }
    }

    fn local_addr(&self, addr: &Multiaddr) -> String {
        addr.clone()
            .with(AddrPart::P2p(*self.swarm.local_peer_id()))
            .to_string()
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> bool {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let addr = self.local_addr(&address);
                tracing::info!(%addr, "listening");
                emit(&self.events, NetEvent::Listening { addr }).await
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let Some(peer) = device_id(&peer_id) else {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return true;
                };
                tracing::debug!(%peer_id, "connected");
                if num_established.get() == 1 {
                    let addr = endpoint.get_remote_address().to_string();
                    return emit(&self.events, NetEvent::Connected { peer, addr }).await;
                }
                true
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                tracing::debug!(%peer_id, "connection closed");
                match device_id(&peer_id) {
                    Some(peer) if num_established == 0 => {
                        emit(&self.events, NetEvent::Disconnected { peer }).await
                    }
                    _ => true,
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
                for (peer, addr) in found {
                    by_peer.entry(peer).or_default().push(addr);
                }
                for (peer_id, addrs) in by_peer {
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
                    if !emit(
                        &self.events,
                        NetEvent::Addresses {
                            peer,
                            addrs,
                            nearby: true,
                        },
                    )
                    .await
                    {
                        return false;
                    }
                }
                true
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let Some(peer) = device_id(&peer_id) else {
                    return true;
                };
                for addr in &info.listen_addrs {
                    self.swarm.add_peer_address(peer_id, addr.clone());
                }
                let addrs = info.listen_addrs.iter().map(ToString::to_string).collect();
                emit(
                    &self.events,
                    NetEvent::Addresses {
                        peer,
                        addrs,
                        nearby: false,
                    },
                )
                .await
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!(%error, "incoming connection refused");
                true
            }
            _ => true,
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Dial { peer, addrs, reply } => {
                let _ = reply.send(self.dial(peer, addrs));
            }
            Command::SetPolicy { policy } => {
                let partner = policy.partner.and_then(|d| peer_id(d).ok());
                self.swarm.behaviour_mut().gate.set_partner(partner);
                let refused: Vec<PeerId> = self
                    .swarm
                    .connected_peers()
                    .filter(|p| partner.is_some_and(|partner| partner != **p))
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

    async fn on_incoming(
        &mut self,
        peer_id: PeerId,
        stream: libp2p::Stream,
        protocol: Protocol,
    ) -> bool {
        let partner = self.swarm.behaviour().gate.partner_is(&peer_id);
        let allowed = match protocol {
            // Pairing is for devices that have no partner yet.
            Protocol::Pair => self.swarm.behaviour().gate.is_open(),
            Protocol::Sync | Protocol::File => partner,
        };
        let Some(peer) = device_id(&peer_id).filter(|_| allowed) else {
            tracing::debug!(%peer_id, ?protocol, "refused a stream from a device that is not the partner");
            drop(stream);
            // While unpaired, a device that has just finished pairing with us may open
            // its sync stream a moment before we have recorded the pairing: refuse the
            // stream but keep the connection. Once paired, the gate has already turned
            // strangers away, so anything refused here is misbehaving.
            if !self.swarm.behaviour().gate.is_open() {
                let _ = self.swarm.disconnect_peer_id(peer_id);
            }
            return true;
        };
        emit(
            &self.events,
            NetEvent::Incoming {
                peer,
                protocol,
                stream: FramedStream::new(stream, protocol.max_frame()),
            },
        )
        .await
    }
}

/// Sends an event to the engine; false once the engine is gone. A free function, so
/// that awaiting it borrows only the sender and not the (non-`Sync`) swarm.
async fn emit(events: &mpsc::Sender<NetEvent>, event: NetEvent) -> bool {
    events.send(event).await.is_ok()
}
