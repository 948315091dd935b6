//! Hearth's network: one libp2p node per device, and the two Hearth protocols on it.
//!
//! [`spawn`] starts the node and returns a [`Net`] handle (cheap to clone, a bounded
//! command channel) and a bounded stream of [`NetEvent`]s. The node listens on TCP
//! (Noise + Yamux) and QUIC, finds devices on the LAN with mDNS when asked to, and
//! carries two protocols as plain framed streams: `/hearth/pair/2` and
//! `/hearth/sync/1`. What travels on them is the engine's business, not this crate's.
//!
//! Who may connect is decided here, before any Hearth byte moves: once a partner is
//! set, the connection gate turns every other peer away at the connection level
//! (but the couple's mailbox); before that, anyone may connect but only to pair. The
//! sync and file protocols are accepted only from the partner, the mailbox protocol
//! only from the peers [`Policy::mailbox`] names (or anyone while a mailbox's invite
//! is open).
//!
//! This is the only crate that imports libp2p. Outside it, devices are
//! [`hearth_core::DeviceId`]s and addresses are strings.

mod event_loop;
mod framed;
mod gate;
pub mod relay;
mod rendezvous;
mod stack;

use std::time::Duration;

use hearth_core::DeviceId;
use libp2p::identity::{self, PeerId};
use tokio::sync::{mpsc, oneshot};

pub use framed::{FrameError, FrameReader, FrameWriter, FramedStream};

/// How long a stream request may wait before [`Net::open`] checks whether
/// libp2p-stream lost it.
const STREAM_RACE_CHECK: Duration = Duration::from_secs(1);

/// The Hearth protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `/hearth/pair/2`: the pairing handshake.
    Pair,
    /// `/hearth/sync/1`: ops, acknowledgements and ephemeral signals.
    Sync,
    /// `/hearth/file/2`: the bytes of attachments, chunk by chunk, on streams of
    /// their own so that chat frames never wait behind a file.
    File,
    /// `/hearth/mailbox/1`: a device and the couple's mailbox, leaving and
    /// collecting sealed letters.
    Mailbox,
}

impl Protocol {
    fn stream_protocol(self) -> libp2p::StreamProtocol {
        match self {
            // Version 2 of pairing and files: typed, versioned messages
            // (`hearth_core::wire`); a build that speaks only version 1 is told the
            // protocol is not supported rather than sent bytes it misreads.
            Protocol::Pair => libp2p::StreamProtocol::new("/hearth/pair/2"),
            Protocol::Sync => libp2p::StreamProtocol::new("/hearth/sync/1"),
            Protocol::File => libp2p::StreamProtocol::new("/hearth/file/2"),
            Protocol::Mailbox => libp2p::StreamProtocol::new("/hearth/mailbox/1"),
        }
    }

    /// The largest frame this protocol accepts.
    pub fn max_frame(self) -> usize {
        match self {
            Protocol::Pair => hearth_core::wire::MAX_PAIR_FRAME_BYTES,
            Protocol::Sync => hearth_core::wire::MAX_FRAME_BYTES,
            Protocol::File => hearth_core::wire::MAX_FILE_FRAME_BYTES,
            Protocol::Mailbox => hearth_core::wire::MAX_MAILBOX_FRAME_BYTES,
        }
    }
}

/// How a device reaches its partner: the network options a user chooses, declared
/// here once and carried unchanged through the binary's flags, the app, the node
/// and this crate. The node hands [`spawn`] the options in effect (remembered
/// relays added; with `internet` off, none of relays, DHT or UPnP is used here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkOptions {
    /// Multiaddrs to listen on; empty means every interface, a random port, TCP and QUIC.
    pub listen: Vec<String>,
    /// Whether to announce and discover devices on the LAN with mDNS.
    pub mdns: bool,
    /// Whether to reach beyond the LAN: relays, the DHT, AutoNAT and UPnP. Off: the
    /// local network only, whatever `relays`, `dht` and `upnp` say.
    pub internet: bool,
    /// Relays to keep a reservation on, each a full address ending in `/p2p/<id>`:
    /// the partner can reach this device through them when no direct path exists.
    pub relays: Vec<String>,
    /// Kademlia servers to publish and look up rendezvous records on, each ending
    /// in `/p2p/<id>` (every relay is one already).
    pub dht: Vec<String>,
    /// Whether to ask the home router for a port mapping with UPnP. Its discovery
    /// multicasts on the LAN.
    pub upnp: bool,
}

impl Default for NetworkOptions {
    /// Every interface on random ports, mDNS, the internet and UPnP on, no relays or
    /// DHT servers beyond those the profile remembers.
    fn default() -> NetworkOptions {
        NetworkOptions {
            listen: Vec::new(),
            mdns: true,
            internet: true,
            relays: Vec::new(),
            dht: Vec::new(),
            upnp: true,
        }
    }
}

impl NetworkOptions {
    /// Relays in use: none when `internet` is off.
    pub fn relays_in_use(&self) -> &[String] {
        if self.internet { &self.relays } else { &[] }
    }

    /// DHT servers in use: none when `internet` is off.
    pub fn dht_in_use(&self) -> &[String] {
        if self.internet { &self.dht } else { &[] }
    }

    /// Whether UPnP is in use: never when `internet` is off.
    pub fn upnp_in_use(&self) -> bool {
        self.internet && self.upnp
    }
}

/// How to start a device's network. Its `Debug` leaves the secret key out.
#[derive(Clone)]
pub struct NetConfig {
    /// The device's Ed25519 secret key (32 bytes), kept in the store.
    pub identity_secret: [u8; 32],
    /// Where to listen and how to find the partner.
    pub network: NetworkOptions,
    /// How often mDNS asks who is around.
    pub mdns_query_interval: Duration,
    /// Who may talk to this device, from the swarm's first moment: with a partner
    /// set, no stranger's connection is ever accepted, not even before the first
    /// command. [`Net::set_policy`] changes it later.
    pub policy: Policy,
}

impl std::fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Everything but `identity_secret`, which never goes into a log.
        f.debug_struct("NetConfig")
            .field("network", &self.network)
            .field("mdns_query_interval", &self.mdns_query_interval)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// How a device is connected to a peer, best path first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// Through a relay: the relay forwards ciphertext it cannot read.
    Relayed,
    /// Directly, across the internet (possibly after hole punching).
    Direct,
    /// Directly, on the same local network.
    Nearby,
}

/// Who may talk to this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The paired partner: the only peer that may sync and fetch files.
    pub partner: Option<DeviceId>,
    /// Peers that speak only the mailbox protocol with this one: a device's
    /// mailbox, or the devices a mailbox serves.
    pub mailbox: Vec<DeviceId>,
    /// Whether any peer may connect, to pair: a device while it has no partner, a
    /// mailbox while its invite is valid. Shut, every peer not named above (or a
    /// relay or DHT server of this device) is refused at connection time.
    pub open: bool,
}

impl Default for Policy {
    /// Unpaired: anyone may connect, to pair.
    fn default() -> Policy {
        Policy::device(None, None)
    }
}

impl Policy {
    /// A device's policy: open until it has a partner; its mailbox, if it has one,
    /// let in too.
    pub fn device(partner: Option<DeviceId>, mailbox: Option<DeviceId>) -> Policy {
        Policy {
            partner,
            mailbox: mailbox.into_iter().collect(),
            open: partner.is_none(),
        }
    }
}

/// Something that happened on the network.
#[derive(Debug)]
pub enum NetEvent {
    /// Listening on a new address.
    Listening {
        /// The address, with `/p2p/<peer id>` appended.
        addr: String,
    },
    /// The first connection to `peer` is up.
    Connected {
        /// The peer.
        peer: DeviceId,
        /// Its address on this connection.
        addr: String,
    },
    /// The last connection to `peer` closed.
    Disconnected {
        /// The peer.
        peer: DeviceId,
    },
    /// mDNS or identify learnt where `peer` can be reached.
    Addresses {
        /// The peer.
        peer: DeviceId,
        /// Its addresses.
        addrs: Vec<String>,
        /// True when found by mDNS on this LAN.
        nearby: bool,
    },
    /// The best path to `peer` changed; `None` once no connection is left.
    Route {
        /// The peer.
        peer: DeviceId,
        /// The best path now.
        route: Option<Route>,
    },
    /// The addresses other devices can reach this one at changed: listen addresses,
    /// addresses confirmed from outside, and circuits reserved on relays.
    Reachable {
        /// Every such address, without the `/p2p/<own id>` suffix, best first.
        addrs: Vec<String>,
    },
    /// A rendezvous record was found on the DHT.
    Found {
        /// The record's key.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// A peer opened a Hearth protocol stream that the gate let through.
    Incoming {
        /// The peer.
        peer: DeviceId,
        /// Which protocol.
        protocol: Protocol,
        /// The stream.
        stream: FramedStream,
    },
}

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The node could not start (a bad key, or no address could be listened on).
    #[error("the network could not start: {0}")]
    Start(String),
    /// An address that is not a multiaddr.
    #[error("not a valid address: {0}")]
    BadAddress(String),
    /// A peer id that is not a Hearth device.
    #[error("not a Hearth device id")]
    BadPeer,
    /// Dialling failed at once.
    #[error("could not dial: {0}")]
    Dial(String),
    /// Opening a stream failed: the peer is unreachable, refused, or does not speak it.
    #[error("could not open a stream: {0}")]
    Stream(String),
    /// The node has stopped.
    #[error("the network has stopped")]
    Stopped,
}

enum Command {
    Dial {
        peer: Option<DeviceId>,
        addrs: Vec<String>,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    SetPolicy {
        policy: Policy,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<String>>,
    },
    Disconnect {
        peer: DeviceId,
    },
    IsConnected {
        peer: DeviceId,
        reply: oneshot::Sender<bool>,
    },
    AddRelays {
        addrs: Vec<String>,
    },
    Publish {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Lookup {
        key: Vec<u8>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A handle on the running node. Dropping every clone stops it.
#[derive(Clone)]
pub struct Net {
    commands: mpsc::Sender<Command>,
    control: libp2p_stream::Control,
    local: DeviceId,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// The device id behind an Ed25519 secret key.
pub fn device_id_of(identity_secret: &[u8; 32]) -> Result<DeviceId, NetError> {
    let keypair = keypair(identity_secret)?;
    let public = keypair
        .public()
        .try_into_ed25519()
        .map_err(|_| NetError::BadPeer)?;
    Ok(DeviceId(public.to_bytes()))
}

/// A fresh Ed25519 secret key for a new device.
pub fn generate_identity() -> [u8; 32] {
    let keypair = identity::ed25519::Keypair::generate();
    let mut secret = [0u8; 32];
    secret.copy_from_slice(keypair.secret().as_ref());
    secret
}

/// The libp2p peer id of a device, as text (`12D3Koo…`).
pub fn peer_id_text(device: DeviceId) -> Result<String, NetError> {
    peer_id(device).map(|p| p.to_string())
}

/// The device behind a peer id in text form.
pub fn device_from_peer_text(text: &str) -> Result<DeviceId, NetError> {
    let peer: PeerId = text.parse().map_err(|_| NetError::BadPeer)?;
    device_id(&peer).ok_or(NetError::BadPeer)
}

/// The bytes of a device's peer id (what invites and the pairing prologue carry).
pub fn peer_id_bytes(device: DeviceId) -> Result<Vec<u8>, NetError> {
    peer_id(device).map(|p| p.to_bytes())
}

/// The device behind peer id bytes.
pub fn device_from_peer_bytes(bytes: &[u8]) -> Result<DeviceId, NetError> {
    let peer = PeerId::from_bytes(bytes).map_err(|_| NetError::BadPeer)?;
    device_id(&peer).ok_or(NetError::BadPeer)
}

/// The relay part of a circuit address: `/…/p2p/<relay>` from
/// `/…/p2p/<relay>/p2p-circuit[/p2p/<target>]`; `None` for any other address.
pub fn relay_of(addr: &str) -> Option<String> {
    let addr: libp2p::Multiaddr = addr.parse().ok()?;
    let mut relay = libp2p::Multiaddr::empty();
    for part in addr.iter() {
        if part == libp2p::multiaddr::Protocol::P2pCircuit {
            return matches!(
                relay.iter().last(),
                Some(libp2p::multiaddr::Protocol::P2p(_))
            )
            .then(|| relay.to_string());
        }
        relay.push(part);
    }
    None
}

/// Checks that `addr` is a full address of a node, `/…/p2p/<peer id>`, as a relay
/// or DHT server must be given.
pub fn check_full_address(addr: &str) -> Result<(), NetError> {
    let parsed: libp2p::Multiaddr = addr
        .trim()
        .parse()
        .map_err(|_| NetError::BadAddress(addr.into()))?;
    match parsed.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(_)) if parsed.iter().count() > 1 => Ok(()),
        _ => Err(NetError::BadAddress(format!(
            "{addr} (it must end in /p2p/<peer id>, as `hearth relay` prints it)"
        ))),
    }
}

/// Multiaddr text to bytes (for invites), checking it parses.
pub fn addr_to_bytes(addr: &str) -> Result<Vec<u8>, NetError> {
    let addr: libp2p::Multiaddr = addr
        .parse()
        .map_err(|_| NetError::BadAddress(addr.into()))?;
    Ok(addr.to_vec())
}

/// Multiaddr bytes (from an invite) to text.
pub fn addr_from_bytes(bytes: &[u8]) -> Result<String, NetError> {
    libp2p::Multiaddr::try_from(bytes.to_vec())
        .map(|a| a.to_string())
        .map_err(|_| NetError::BadAddress("invite address".into()))
}

fn keypair(secret: &[u8; 32]) -> Result<identity::Keypair, NetError> {
    let mut bytes = *secret;
    identity::Keypair::ed25519_from_bytes(&mut bytes).map_err(|e| NetError::Start(e.to_string()))
}

pub(crate) fn peer_id(device: DeviceId) -> Result<PeerId, NetError> {
    let public =
        identity::ed25519::PublicKey::try_from_bytes(&device.0).map_err(|_| NetError::BadPeer)?;
    Ok(identity::PublicKey::from(public).to_peer_id())
}

pub(crate) fn device_id(peer: &PeerId) -> Option<DeviceId> {
    // An Ed25519 peer id is the identity multihash of the protobuf-encoded key.
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let public = identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    Some(DeviceId(public.try_into_ed25519().ok()?.to_bytes()))
}

/// Starts the node on the current tokio runtime.
pub fn spawn(config: NetConfig) -> Result<(Net, mpsc::Receiver<NetEvent>), NetError> {
    let local = device_id_of(&config.identity_secret)?;
    let (commands, command_rx) = mpsc::channel(64);
    let (events_tx, events) = mpsc::channel(256);
    let (event_loop, control) = event_loop::EventLoop::new(config, command_rx, events_tx)?;
    tokio::spawn(tracing::Instrument::in_current_span(event_loop.run()));
    Ok((
        Net {
            commands,
            control,
            local,
        },
        events,
    ))
}

impl Net {
    /// This device.
    pub fn local(&self) -> DeviceId {
        self.local
    }

    /// Dials `addrs` (of `peer`, when known). Returns once dialling has started; the
    /// outcome arrives as [`NetEvent::Connected`].
    pub async fn dial(&self, peer: Option<DeviceId>, addrs: Vec<String>) -> Result<(), NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Dial { peer, addrs, reply }).await?;
        rx.await.map_err(|_| NetError::Stopped)?
    }

    /// Sets who may connect. Peers no longer allowed are disconnected.
    pub async fn set_policy(&self, policy: Policy) -> Result<(), NetError> {
        self.send(Command::SetPolicy { policy }).await
    }

    /// The addresses the node listens on, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<String>, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::ListenAddrs { reply }).await?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Closes every connection to `peer` (say, after it broke a protocol).
    pub async fn disconnect(&self, peer: DeviceId) -> Result<(), NetError> {
        self.send(Command::Disconnect { peer }).await
    }

    /// Whether a connection to `peer` is up.
    pub async fn is_connected(&self, peer: DeviceId) -> Result<bool, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::IsConnected { peer, reply }).await?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Opens a stream of `protocol` to `peer`, dialling known addresses if needed.
    pub async fn open(&self, peer: DeviceId, protocol: Protocol) -> Result<FramedStream, NetError> {
        let peer_id = peer_id(peer)?;
        let mut control = self.control.clone();
        let first = control.open_stream(peer_id, protocol.stream_protocol());
        tokio::pin!(first);
        let stream = loop {
            tokio::select! {
                result = &mut first => break result,
                () = tokio::time::sleep(STREAM_RACE_CHECK) => {
                    // libp2p-stream 0.5 loses a request made while a connection to
                    // the peer is coming up (its handler exists, the swarm has not
                    // reported it yet): the request waits for another connection
                    // that never comes. Connected by now, a second request finds the
                    // connection.
                    if self.is_connected(peer).await? {
                        let mut control = self.control.clone();
                        break control
                            .open_stream(peer_id, protocol.stream_protocol())
                            .await;
                    }
                }
            }
        }
        .map_err(|e| NetError::Stream(e.to_string()))?;
        Ok(FramedStream::new(stream, protocol.max_frame()))
    }

    /// Keeps reservations on these relays too (and uses them as DHT servers), say
    /// the ones a partner's invite came through. Addresses already in use are ignored.
    pub async fn add_relays(&self, addrs: Vec<String>) -> Result<(), NetError> {
        self.send(Command::AddRelays { addrs }).await
    }

    /// Stores `value` under `key` on the DHT servers, and again every few minutes and
    /// whenever one of them reconnects, until replaced by another publish.
    pub async fn publish(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), NetError> {
        self.send(Command::Publish { key, value }).await
    }

    /// Looks `key` up on the DHT; what is found arrives as [`NetEvent::Found`].
    pub async fn lookup(&self, key: Vec<u8>) -> Result<(), NetError> {
        self.send(Command::Lookup { key }).await
    }

    /// Stops the node: closes every connection and listener, and returns once the
    /// ports are released.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), NetError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret whose bytes, in any form `Debug` of an array prints, stand out.
    const SECRET: [u8; 32] = [
        0xde, 0xad, 0xbe, 0xef, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213,
        214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228,
    ];

    /// Fails if `text` shows `SECRET` in a form `Debug` of the array prints
    /// (`{:?}`, `{:#?}`, `{:x?}`…), or any two of its bytes in a row, in decimal or
    /// hex, however they are spaced or indented.
    fn assert_no_secret(text: &str) {
        for form in [
            format!("{SECRET:?}"),
            format!("{SECRET:#?}"),
            format!("{SECRET:x?}"),
            format!("{SECRET:#x?}"),
        ] {
            assert!(!text.contains(&form), "the secret shows in {text}");
        }
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for pair in SECRET.windows(2) {
            for run in [
                format!("{},{}", pair[0], pair[1]),
                format!("{:x},{:x}", pair[0], pair[1]),
            ] {
                assert!(
                    !squeezed.contains(&run),
                    "secret bytes {run} show in {text}"
                );
            }
        }
        assert!(!text.contains("identity_secret"), "{text}");
    }

    /// "The local network only" holds in this crate whatever the lists say.
    #[test]
    fn with_internet_off_no_relay_dht_or_upnp_is_used() {
        let mut options = NetworkOptions {
            relays: vec!["/ip4/192.0.2.1/tcp/4001/p2p/relay".into()],
            dht: vec!["/ip4/192.0.2.2/tcp/4001/p2p/dht".into()],
            ..NetworkOptions::default()
        };
        assert_eq!(options.relays_in_use().len(), 1);
        assert_eq!(options.dht_in_use().len(), 1);
        assert!(options.upnp_in_use());
        options.internet = false;
        assert!(options.relays_in_use().is_empty());
        assert!(options.dht_in_use().is_empty());
        assert!(!options.upnp_in_use());
    }

    #[test]
    fn net_config_debug_leaves_the_secret_out() {
        let config = NetConfig {
            identity_secret: SECRET,
            network: NetworkOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                relays: vec!["/ip4/192.0.2.1/tcp/4001/p2p/relay".into()],
                upnp: false,
                ..NetworkOptions::default()
            },
            mdns_query_interval: Duration::from_secs(1),
            policy: Policy::default(),
        };
        for text in [format!("{config:?}"), format!("{config:#?}")] {
            assert_no_secret(&text);
            // The rest is still there.
            assert!(text.contains("/ip4/127.0.0.1/tcp/0"), "{text}");
            assert!(text.contains("/ip4/192.0.2.1/tcp/4001/p2p/relay"), "{text}");
            assert!(text.contains("upnp"), "{text}");
        }
    }

    #[test]
    fn relay_config_debug_leaves_the_secret_out() {
        let config = relay::RelayConfig::new(SECRET, vec!["/ip4/0.0.0.0/tcp/4001".into()]);
        for text in [format!("{config:?}"), format!("{config:#?}")] {
            assert_no_secret(&text);
            assert!(text.contains("/ip4/0.0.0.0/tcp/4001"), "{text}");
            assert!(text.contains("max_circuits"), "{text}");
        }
    }
}
