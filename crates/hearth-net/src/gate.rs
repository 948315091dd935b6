//! The connection gate: once a partner is set, every other peer (but the couple's
//! mailbox) is refused when its connection is established, before any protocol
//! (identify included) runs on it. A mailbox lets in only the devices that joined it,
//! and anyone while its invite is open.
//! The relays and DHT servers this device chose are let through too: they carry
//! circuits and records, never a Hearth protocol.

use std::collections::HashSet;
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

#[derive(Debug, thiserror::Error)]
#[error("not this device's partner")]
struct NotPartner;

/// Refuses connections from anyone but the partner and this device's relays and DHT
/// servers, once there is a partner.
pub(crate) struct Gate {
    partner: Option<PeerId>,
    /// A device's mailbox, or a mailbox's devices.
    mailbox: HashSet<PeerId>,
    open: bool,
    infrastructure: HashSet<PeerId>,
}

impl Gate {
    /// A gate that lets only `partner` through, if there is one: set before the
    /// swarm first runs, so there is no moment a stranger gets in.
    pub(crate) fn new(partner: Option<PeerId>, mailbox: HashSet<PeerId>, open: bool) -> Gate {
        Gate {
            partner,
            mailbox,
            open,
            infrastructure: HashSet::new(),
        }
    }

    /// Lets `peer`, a relay or DHT server this device uses, connect.
    pub(crate) fn allow_infrastructure(&mut self, peer: PeerId) {
        self.infrastructure.insert(peer);
    }

    pub(crate) fn is_infrastructure(&self, peer: &PeerId) -> bool {
        self.infrastructure.contains(peer)
    }

    pub(crate) fn set(&mut self, partner: Option<PeerId>, mailbox: HashSet<PeerId>, open: bool) {
        self.partner = partner;
        self.mailbox = mailbox;
        self.open = open;
    }

    /// True while anyone may connect, but only to pair (or join a mailbox).
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// A device's mailbox, or a device a mailbox serves.
    pub(crate) fn is_mailbox_peer(&self, peer: &PeerId) -> bool {
        self.mailbox.contains(peer)
    }

    pub(crate) fn partner_is(&self, peer: &PeerId) -> bool {
        self.partner == Some(*peer)
    }

    pub(crate) fn allows(&self, peer: &PeerId) -> bool {
        self.open
            || self.partner == Some(*peer)
            || self.mailbox.contains(peer)
            || self.infrastructure.contains(peer)
    }

    fn check(&self, peer: &PeerId) -> Result<(), ConnectionDenied> {
        if self.allows(peer) {
            Ok(())
        } else {
            Err(ConnectionDenied::new(NotPartner))
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(&peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
