//! The versioned bytes of everything Hearth stores or sends: ops, and every message
//! of every protocol (`/hearth/sync/1`: [`SyncFrame`], `/hearth/pair/2`:
//! [`PairFrame`], `/hearth/file/2`: [`FileFrame`], `/hearth/mailbox/1`:
//! [`MailboxFrame`]), and the [`Letter`]s devices seal for each other at a mailbox.
//!
//! Every encoding starts with a version byte, so a future format can be told apart;
//! the rest is postcard. Each protocol has one `decode_*` that checks the length
//! before it looks at a byte, rejects trailing bytes, and checks the counts inside
//! against the protocol's limits. A new protocol adds its enum, its limit and its
//! decoder here.

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, OpId};
use crate::op::{Op, limits};

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
    /// Announces more entries than one message may hold; refused before any is
    /// built.
    #[error("{count} entries announced where at most {max} fit")]
    TooMany {
        /// The count announced.
        count: u64,
        /// The limit.
        max: usize,
    },
}

/// A postcard varint at the start of `bytes`, and what follows it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Refuses a message whose list announces more than `max` entries, before decoding
/// builds any of them. `count` reads the announced length from the bytes after the
/// version byte, for the variants that carry a list.
fn check_announced(
    bytes: &[u8],
    max: usize,
    count: impl Fn(&[u8]) -> Option<u64>,
) -> Result<(), DecodeError> {
    match bytes.get(1..).and_then(count) {
        Some(count) if count > max as u64 => Err(DecodeError::TooMany { count, max }),
        _ => Ok(()),
    }
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
    /// The sender's user found the safety words differ and ended this pairing: the
    /// receiver ends it too. `tag` names the pairing (from its safety words), so a
    /// late notice never ends a newer pairing of the same two devices.
    Unpair {
        /// [`hearth_crypto`]'s `unpair_tag` of the pairing's safety words.
        tag: [u8; 32],
    },
    /// Where the sender can be reached now (multiaddrs without `/p2p/`), for the
    /// receiver to dial next time. Sent at the start of every session and when it
    /// changes: identify tells no one a device's listen addresses, so that relays
    /// and DHT servers never learn its LAN or VPN addresses.
    Whereabouts {
        /// At most [`MAX_WHEREABOUTS`] addresses, best first.
        addrs: Vec<String>,
    },
}

/// Most addresses one [`SyncFrame::Whereabouts`] may list.
pub const MAX_WHEREABOUTS: usize = 16;
/// Longest address a device keeps for its partner, in bytes of text: a real
/// multiaddr is well under this, and the partner's remembered addresses must stay
/// a small setting.
pub const MAX_ADDR_TEXT: usize = 256;

/// Largest message of the pairing protocol.
pub const MAX_PAIR_FRAME_BYTES: usize = 64 * 1024;
/// Longest name a device gives while pairing, in bytes.
pub const MAX_PAIR_NAME_BYTES: usize = 256;
/// Largest message of the file protocol: the largest chunk, or the longest list of
/// chunk hashes, and a header.
pub const MAX_FILE_FRAME_BYTES: usize = {
    let chunk = *limits::CHUNK_BYTES_RANGE.end() as usize;
    let hashes = limits::MAX_CHUNKS as usize * 33;
    (if chunk > hashes { chunk } else { hashes }) + 1024
};
/// Longest reason a device gives for not serving a file, in bytes.
pub const MAX_UNAVAILABLE_BYTES: usize = 512;

/// One message of the pairing protocol. The handshake's own messages ride inside
/// `Start` and `Step`; they are checked by the handshake, not here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairFrame {
    /// "Are you waiting to pair?"
    Probe,
    /// "Yes, and this is my name"; `showing_code` when the code is six digits on
    /// screen rather than an invite sent elsewhere.
    Available {
        /// The name of the user of the device.
        name: String,
        /// Six digits on screen, not an invite.
        showing_code: bool,
    },
    /// "No."
    Unavailable(PairRefusal),
    /// The initiator's first handshake message.
    Start(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A further handshake message.
    Step(#[serde(with = "serde_bytes")] Vec<u8>),
    /// "The handshake failed on my side": the codes differed.
    Failed,
}

/// Why a device would not pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairRefusal {
    /// It shows no code.
    NotPairing,
    /// Its code has expired.
    Expired,
    /// Its code was tried too many times.
    TooManyTries,
    /// It is pairing with another device right now.
    Busy,
}

/// One message of the file protocol. The receiver asks, the owner of the file
/// answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFrame {
    /// Receiver: the BLAKE3 of each chunk of this attachment, please.
    GetManifest(OpId),
    /// Receiver: these chunks, please (answered by `Chunk`s and an `End`).
    GetChunks {
        /// The attachment.
        id: OpId,
        /// Chunk indexes.
        chunks: Vec<u32>,
    },
    /// Owner: the hash of every chunk, in order.
    Manifest(Vec<[u8; 32]>),
    /// Owner: one chunk.
    Chunk {
        /// Its index.
        index: u32,
        /// Its bytes: encoded as one run (`serde_bytes`), not byte by byte, which
        /// made encoding and decoding a chunk cost more CPU than sealing it.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Owner: that is every chunk asked for in this round.
    End,
    /// Owner: the file cannot be served, and why.
    Unavailable(String),
}

/// Largest sealed letter a mailbox keeps: the largest chunk, its header, the
/// padding and the seal.
pub const MAX_LETTER_BYTES: usize = *limits::CHUNK_BYTES_RANGE.end() as usize + 64 * 1024;
/// Largest message of the mailbox protocol: two of the largest letters and a header.
/// Senders pack smaller letters together up to this.
pub const MAX_MAILBOX_FRAME_BYTES: usize = 2 * MAX_LETTER_BYTES + 4096;
/// Most letters in one mailbox message.
pub const MAX_LETTERS: usize = 1024;

/// One message of the mailbox protocol, between a device and the mailbox its couple
/// runs. The device asks, the mailbox answers. Letters are opaque to the mailbox:
/// sealed by one partner's device for the other's ([`Letter`] is what is inside).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxFrame {
    /// Device: "let me in", proving it holds the mailbox's invite. The proof is bound
    /// to both ends of this connection, so it is worth nothing anywhere else.
    Join {
        /// `hearth_crypto::join_proof` of the invite's secret.
        proof: [u8; 32],
    },
    /// Device: keep these letters for `to`, in this order.
    Deposit {
        /// The device they are for.
        to: DeviceId,
        /// Sealed letters.
        letters: Vec<serde_bytes::ByteBuf>,
    },
    /// Device: forget my letters up to `ack` (I have stored them), then give me the
    /// ones after it, waiting up to `wait_ms` for one to arrive if there are none.
    Fetch {
        /// Highest letter number the device has stored; 0 for none.
        ack: u64,
        /// How long the mailbox may hold the answer back, at most a minute.
        wait_ms: u32,
    },
    /// Mailbox: you are in (answers `Join`).
    Joined,
    /// Mailbox: the letters are kept, durably (answers `Deposit`).
    Stored,
    /// Mailbox: letters for you, oldest first, each with its number (answers
    /// `Fetch`); `waiting` is how many letters from you the other devices have not
    /// yet collected.
    Letters {
        /// (number, sealed letter)
        letters: Vec<(u64, serde_bytes::ByteBuf)>,
        /// More are waiting beyond these.
        more: bool,
        /// Letters this device left that the others have not yet collected.
        waiting: u64,
    },
    /// Mailbox: no, and why.
    Refused(MailboxRefusal),
    /// Device: forget me and every letter kept for me; I stop using this mailbox.
    Leave,
    /// Mailbox: done (answers `Leave`).
    Left,
}

/// Why a mailbox turned a request down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxRefusal {
    /// The invite is not valid: wrong, expired, or tried too often.
    BadInvite,
    /// This device has not joined the mailbox.
    NotMember,
    /// The letters are for a device that has not joined.
    UnknownRecipient,
    /// The mailbox holds as much as it may for that device.
    Full,
    /// The mailbox could not write to its disk.
    Disk,
}

/// What one of the couple's devices seals for another and leaves at their mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Letter {
    /// Ops from the sender's log, in order (possibly none), and how far the sender
    /// durably holds each log: its acknowledgement of what it received.
    Ops {
        /// (author, highest contiguous seq held)
        held: Vec<(DeviceId, u64)>,
        /// The ops.
        ops: Vec<Op>,
    },
    /// The chunk hashes of one of the sender's files, ahead of its chunks.
    Manifest {
        /// The attachment.
        id: OpId,
        /// BLAKE3 of each chunk, in order.
        hashes: Vec<[u8; 32]>,
    },
    /// One chunk of one of the sender's files.
    Chunk {
        /// The attachment.
        id: OpId,
        /// The chunk's index.
        index: u32,
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// The sender holds the receiver's log only up to `held`, and letters after it
    /// skipped ops it lacks (a mailbox that forgot letters): leave them again from
    /// there.
    Resend {
        /// Highest contiguous seq of the receiver's log the sender holds.
        held: u64,
    },
}

/// Decodes a mailbox-protocol message: at most [`MAX_LETTERS`] letters of at most
/// [`MAX_LETTER_BYTES`] each.
pub fn decode_mailbox(bytes: &[u8]) -> Result<MailboxFrame, DecodeError> {
    if bytes.len() > MAX_MAILBOX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_MAILBOX_FRAME_BYTES,
        });
    }
    // Deposit (variant 1): the device id (32 bytes), then the count; Letters
    // (variant 5): the count.
    check_announced(bytes, MAX_LETTERS, |rest| match varint(rest)? {
        (1, rest) => varint(rest.get(32..)?).map(|(n, _)| n),
        (5, rest) => varint(rest).map(|(n, _)| n),
        _ => None,
    })?;
    let frame: MailboxFrame = decode(bytes, MAX_MAILBOX_FRAME_BYTES)?;
    let sizes: Vec<usize> = match &frame {
        MailboxFrame::Deposit { letters, .. } => letters.iter().map(|l| l.len()).collect(),
        MailboxFrame::Letters { letters, .. } => letters.iter().map(|(_, l)| l.len()).collect(),
        _ => Vec::new(),
    };
    if sizes.len() > MAX_LETTERS {
        return Err(DecodeError::TooMany {
            count: sizes.len() as u64,
            max: MAX_LETTERS,
        });
    }
    if let Some(len) = sizes.into_iter().find(|&len| len > MAX_LETTER_BYTES) {
        return Err(DecodeError::TooLarge {
            len,
            max: MAX_LETTER_BYTES,
        });
    }
    Ok(frame)
}

/// Decodes an opened letter: as many ops as a sync batch, as many hashes as a file
/// has chunks, a chunk no larger than the largest.
pub fn decode_letter(bytes: &[u8]) -> Result<Letter, DecodeError> {
    // Ops (variant 0): `held` first, then the ops; Manifest (1): the op id (32 bytes
    // and a varint), then the count.
    check_announced(bytes, limits::MAX_CHUNKS as usize, |rest| {
        match varint(rest)? {
            (1, rest) => varint(varint(rest.get(32..)?)?.1).map(|(n, _)| n),
            _ => None,
        }
    })?;
    let letter: Letter = decode(bytes, MAX_LETTER_BYTES)?;
    let (count, max) = match &letter {
        Letter::Ops { held, ops } => (held.len().max(ops.len()), MAX_BATCH_OPS),
        Letter::Manifest { hashes, .. } => (hashes.len(), limits::MAX_CHUNKS as usize),
        Letter::Chunk { data, .. } => (data.len(), *limits::CHUNK_BYTES_RANGE.end() as usize),
        Letter::Resend { .. } => (0, 0),
    };
    if count > max {
        return Err(DecodeError::Malformed(format!(
            "{count} entries where at most {max} fit"
        )));
    }
    Ok(letter)
}

/// Decodes a pairing message from a peer.
pub fn decode_pair(bytes: &[u8]) -> Result<PairFrame, DecodeError> {
    let frame: PairFrame = decode(bytes, MAX_PAIR_FRAME_BYTES)?;
    if let PairFrame::Available { name, .. } = &frame
        && name.len() > MAX_PAIR_NAME_BYTES
    {
        return Err(DecodeError::Malformed(format!(
            "a name of {} bytes",
            name.len()
        )));
    }
    Ok(frame)
}

/// Decodes a file-protocol message from a peer: at most [`limits::MAX_CHUNKS`]
/// chunks asked for or hashed, a chunk no larger than the largest chunk size.
pub fn decode_file(bytes: &[u8]) -> Result<FileFrame, DecodeError> {
    if bytes.len() > MAX_FILE_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_FILE_FRAME_BYTES,
        });
    }
    // GetChunks (variant 1): the op id (32 bytes and a varint), then the count;
    // Manifest (variant 2): the count.
    check_announced(bytes, limits::MAX_CHUNKS as usize, |rest| {
        match varint(rest)? {
            (1, rest) => varint(varint(rest.get(32..)?)?.1).map(|(n, _)| n),
            (2, rest) => varint(rest).map(|(n, _)| n),
            _ => None,
        }
    })?;
    let frame: FileFrame = decode(bytes, MAX_FILE_FRAME_BYTES)?;
    let (count, max) = match &frame {
        FileFrame::GetChunks { chunks, .. } => (chunks.len(), limits::MAX_CHUNKS as usize),
        FileFrame::Manifest(hashes) => (hashes.len(), limits::MAX_CHUNKS as usize),
        FileFrame::Chunk { data, .. } => (data.len(), *limits::CHUNK_BYTES_RANGE.end() as usize),
        FileFrame::Unavailable(why) => (why.len(), MAX_UNAVAILABLE_BYTES),
        FileFrame::GetManifest(_) | FileFrame::End => (0, 0),
    };
    if count > max {
        return Err(DecodeError::Malformed(format!(
            "{count} entries where at most {max} fit"
        )));
    }
    Ok(frame)
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
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    // Hello (variant 0) and Ops (variant 1) start with their list's length.
    check_announced(bytes, MAX_BATCH_OPS, |rest| match varint(rest)? {
        (0 | 1, rest) => varint(rest).map(|(n, _)| n),
        _ => None,
    })?;
    // Whereabouts (variant 5) too.
    check_announced(bytes, MAX_WHEREABOUTS, |rest| match varint(rest)? {
        (5, rest) => varint(rest).map(|(n, _)| n),
        _ => None,
    })?;
    let frame: SyncFrame = decode(bytes, MAX_FRAME_BYTES)?;
    let (count, max) = match &frame {
        SyncFrame::Hello { have } => (have.len(), MAX_BATCH_OPS),
        SyncFrame::Ops { ops } => (ops.len(), MAX_BATCH_OPS),
        SyncFrame::Whereabouts { addrs } => (addrs.len(), MAX_WHEREABOUTS),
        SyncFrame::Ack { .. } | SyncFrame::Typing | SyncFrame::Unpair { .. } => (0, 0),
    };
    if let SyncFrame::Whereabouts { addrs } = &frame
        && addrs.iter().any(|a| a.len() > MAX_ADDR_TEXT)
    {
        return Err(DecodeError::Malformed("an address too long".into()));
    }
    if count > max {
        return Err(DecodeError::Malformed(format!(
            "{count} entries in one frame"
        )));
    }
    Ok(frame)
}

/// Encodes any serde value with the version byte in front: protocol messages
/// ([`PairFrame`], [`FileFrame`]) and the values the crates above keep (settings,
/// profiles), so they share one format.
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
