//! The versioned bytes of ops and sync frames.
//!
//! Every encoding starts with a version byte, so a future format can be told apart;
//! the rest is postcard. Decoders check the length before they look at a byte and
//! reject trailing bytes.

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;
use crate::op::Op;

/// The version byte this build writes and reads.
pub const VERSION: u8 = 1;
/// Largest encoded op.
pub const MAX_OP_BYTES: usize = 64 * 1024;
/// Largest encoded sync frame.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// Most ops in one sync batch.
pub const MAX_BATCH_OPS: usize = 512;

/// Why bytes from a peer or the disk could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Longer than the limit for this kind of value.
    #[error("{len} bytes is more than the limit of {max}")]
    TooLarge {
        /// The length seen.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Written by a build with a format this one does not know.
    #[error("format version {0} is not supported by this build")]
    UnsupportedVersion(u8),
    /// Empty input.
    #[error("no bytes")]
    Empty,
    /// Not a valid encoding, or a value that breaks a limit.
    #[error("malformed: {0}")]
    Malformed(String),
}

/// One message of the `/hearth/sync/1` protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncFrame {
    /// Sent first by both sides on every connection: for each author, the highest
    /// sequence number this side holds without a gap.
    Hello {
        /// (author, highest contiguous seq held)
        have: Vec<(DeviceId, u64)>,
    },
    /// Ops the receiver is missing, in sequence order, all by one author.
    Ops {
        /// The ops.
        ops: Vec<Op>,
    },
    /// The sender has stored, durably, everything by `author` up to `up_to`.
    Ack {
        /// Whose log.
        author: DeviceId,
        /// Highest contiguous seq now held on disk.
        up_to: u64,
    },
    /// The sender is typing. Ephemeral: never stored, never acknowledged.
    Typing,
}

/// Encodes an op for the disk.
pub fn encode_op(op: &Op) -> Vec<u8> {
    encode(op)
}

/// Decodes an op from the disk or a peer.
pub fn decode_op(bytes: &[u8]) -> Result<Op, DecodeError> {
    decode(bytes, MAX_OP_BYTES)
}

/// Encodes a sync frame.
pub fn encode_frame(frame: &SyncFrame) -> Vec<u8> {
    encode(frame)
}

/// Decodes a sync frame from a peer, enforcing [`MAX_FRAME_BYTES`] and
/// [`MAX_BATCH_OPS`].
pub fn decode_frame(bytes: &[u8]) -> Result<SyncFrame, DecodeError> {
    let frame: SyncFrame = decode(bytes, MAX_FRAME_BYTES)?;
    let count = match &frame {
        SyncFrame::Hello { have } => have.len(),
        SyncFrame::Ops { ops } => ops.len(),
        SyncFrame::Ack { .. } | SyncFrame::Typing => 0,
    };
    if count > MAX_BATCH_OPS {
        return Err(DecodeError::Malformed(format!(
            "{count} entries in one frame"
        )));
    }
    Ok(frame)
}

/// Encodes any serde value with the version byte in front. For values the crates
/// above keep (settings, profiles), so they share one format.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let out = vec![VERSION];
    // Writing to a Vec only fails for types serde cannot express, which ours are not.
    match postcard::to_extend(value, out) {
        Ok(bytes) => bytes,
        Err(_) => vec![VERSION],
    }
}

/// Decodes a value written by [`encode`], rejecting anything over `max` bytes.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], max: usize) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let (value, trailing) =
        postcard::take_from_bytes(rest).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !trailing.is_empty() {
        return Err(DecodeError::Malformed(format!(
            "{} trailing bytes",
            trailing.len()
        )));
    }
    Ok(value)
}
