//! The libp2p stack a device's node ([`crate::spawn`]) and `hearth relay`
//! ([`crate::relay::serve`]) share, built in one place: the identity, TCP (Noise +
//! Yamux, no Nagle) and QUIC, Hearth's identify and Kademlia protocol names, and
//! listening on configured addresses. What differs is chosen by [`Role`] and by the
//! behaviour and swarm settings each passes in.

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    Multiaddr, StreamProtocol, Swarm, SwarmBuilder, identify, kad, noise, relay, tcp, yamux,
};

use crate::NetError;

/// Hearth's own Kademlia protocol: rendezvous records live on the couple's chosen
/// servers, apart from any public DHT.
const KAD_PROTOCOL: &str = "/hearth/kad/1";

/// Hearth's identify protocol version.
const IDENTIFY_PROTOCOL: &str = "/hearth/id/1";

/// What building a behaviour may fail with.
pub(crate) type BehaviourError = Box<dyn std::error::Error + Send + Sync>;

/// What a swarm is for, which decides the transports on top of TCP and QUIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A device: also resolves DNS names, and reaches and is reached through
    /// relays (the relay client transport, handed to the behaviour).
    Device,
    /// The throwaway Kademlia client a device stores and looks up rendezvous
    /// records with (`crate::rendezvous`): resolves DNS names, no circuits.
    Rendezvous,
    /// `hearth relay`: serves circuits, dials neither names nor circuits.
    Relay,
}

/// Builds a swarm on the shared transport stack. `behaviour` gets the key, and for
/// a [`Role::Device`] the relay client behaviour (`None` for the others);
/// `swarm_config` adjusts the swarm's settings (idle timeout, dial concurrency).
pub(crate) fn build<B: NetworkBehaviour>(
    keypair: Keypair,
    role: Role,
    behaviour: impl FnOnce(&Keypair, Option<relay::client::Behaviour>) -> Result<B, BehaviourError>,
    swarm_config: impl FnOnce(libp2p::swarm::Config) -> libp2p::swarm::Config,
) -> Result<Swarm<B>, NetError> {
    let start = |e: &dyn std::fmt::Display| NetError::Start(e.to_string());
    let transports = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| start(&e))?
        .with_quic();
    let swarm = match role {
        Role::Device => transports
            .with_dns()
            .map_err(|e| start(&e))?
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| start(&e))?
            .with_behaviour(|key, relay| behaviour(key, Some(relay)))
            .map_err(|e| start(&e))?
            .with_swarm_config(swarm_config)
            .build(),
        Role::Rendezvous => transports
            .with_dns()
            .map_err(|e| start(&e))?
            .with_behaviour(|key| behaviour(key, None))
            .map_err(|e| start(&e))?
            .with_swarm_config(swarm_config)
            .build(),
        Role::Relay => transports
            .with_behaviour(|key| behaviour(key, None))
            .map_err(|e| start(&e))?
            .with_swarm_config(swarm_config)
            .build(),
    };
    Ok(swarm)
}

/// Listens on every address in `addrs`.
pub(crate) fn listen_all<B: NetworkBehaviour>(
    swarm: &mut Swarm<B>,
    addrs: &[String],
) -> Result<(), NetError> {
    for addr in addrs {
        let parsed: Multiaddr = addr
            .parse()
            .map_err(|_| NetError::BadAddress(addr.clone()))?;
        swarm
            .listen_on(parsed)
            .map_err(|e| NetError::Start(e.to_string()))?;
    }
    Ok(())
}

/// Identify, as every Hearth node speaks it. With `hide_listen_addrs` it tells
/// peers only addresses confirmed from outside, never what it listens on: a device
/// does not show relays its LAN or VPN addresses (the partner hears them over sync,
/// in `SyncFrame::Whereabouts`). A relay tells them, so devices can reach it.
pub(crate) fn identify(key: &Keypair, hide_listen_addrs: bool) -> identify::Behaviour {
    identify::Behaviour::new(
        identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
            .with_hide_listen_addrs(hide_listen_addrs),
    )
}

/// Kademlia's settings on Hearth's own protocol, before each role adjusts them.
pub(crate) fn kad_config() -> kad::Config {
    kad::Config::new(StreamProtocol::new(KAD_PROTOCOL))
}

/// The IP address an address starts with, if any.
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<std::net::IpAddr> {
    use libp2p::multiaddr::Protocol as AddrPart;
    match addr.iter().next()? {
        AddrPart::Ip4(ip) => Some(ip.into()),
        AddrPart::Ip6(ip) => Some(ip.into()),
        _ => None,
    }
}
