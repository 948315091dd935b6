use std::fmt;

use serde::{Deserialize, Serialize};

/// One device of the couple, named by its 32-byte Ed25519 public key.
///
/// The network layer turns this into a libp2p `PeerId` and back; here it is opaque.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceId(pub [u8; 32]);

impl DeviceId {
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl fmt::Display for DeviceId {
    /// The first eight bytes in hex: enough to tell two devices apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A Lamport clock reading. Every op carries one; an author's next op always has a
/// higher one than anything that author had seen, so replies sort after what they
/// answer even when the two devices' wall clocks disagree.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Lamport(pub u64);

impl Lamport {
    /// The reading that follows this one.
    pub fn next(self) -> Lamport {
        Lamport(self.0.saturating_add(1))
    }
}

/// The identity of an op: its author and its place (1, 2, 3…) in the author's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId {
    /// The device that wrote the op.
    pub author: DeviceId,
    /// The op's position in its author's log, starting at 1.
    pub seq: u64,
}

/// Where a message sits in the shared timeline. Both devices sort by this and so show
/// the same order: Lamport time first, the author to break ties, then the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimelinePos {
    /// The op's Lamport time.
    pub lamport: Lamport,
    /// The op's author.
    pub author: DeviceId,
    /// The op's sequence number in its author's log.
    pub seq: u64,
}

impl TimelinePos {
    /// The op this position belongs to.
    pub fn op_id(&self) -> OpId {
        OpId {
            author: self.author,
            seq: self.seq,
        }
    }
}
