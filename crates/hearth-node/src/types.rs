//! What the engine tells the UI and the headless mode, and what it is told.

use hearth_core::{DeviceId, OpId, TimelinePos};
use serde::{Deserialize, Serialize};

/// How one partner presents themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// UI language, `en` or `sq`.
    pub language: String,
    /// IANA time zone, e.g. `Europe/Tirane`.
    pub time_zone: String,
}

/// What this device remembers of its partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// The partner's device.
    pub device: DeviceId,
    /// Their profile as of the last change.
    pub profile: Profile,
    /// Their Noise static key, authenticated during pairing.
    pub static_key: [u8; 32],
    /// The words both saw at pairing.
    pub safety_words: Vec<String>,
    /// Where they were last reachable, newest first.
    pub addrs: Vec<String>,
    /// When the two paired, ms since the Unix epoch.
    pub paired_at_ms: i64,
}

/// What the sender of a message sees of it on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Written here; the partner's device has not confirmed storing it.
    Queued,
    /// Stored on the partner's device.
    Delivered,
    /// The partner has read it.
    Read,
}

/// A message as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// Its id.
    pub id: MessageId,
    /// Who wrote it.
    pub author: Author,
    /// The text now (after edits); `None` once deleted.
    pub text: Option<String>,
    /// The author's wall clock when written, ms since the Unix epoch.
    pub sent_at: i64,
    /// The message this one answers.
    pub reply_to: Option<MessageId>,
    /// Whether it was edited.
    pub edited: bool,
    /// Whether it was deleted.
    pub deleted: bool,
    /// Reactions, in a stable order.
    pub reactions: Vec<ReactionView>,
    /// For my own messages, how far they got.
    pub delivery: Option<Delivery>,
    /// The file this message shares, if it shares one.
    pub attachment: Option<AttachmentView>,
    /// Where it sits in the timeline (for paging: pass it as `before`).
    #[serde(skip)]
    pub pos: TimelinePos,
}

/// A file shared in a message, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttachmentView {
    /// File name.
    pub name: String,
    /// Media type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// Deleted on both devices once the partner opened it.
    pub view_once: bool,
    /// Deleted on both devices this long after the partner first opened it.
    pub expires_after_open_secs: Option<u64>,
    /// When the partner first opened it (view-once and expiring media).
    pub opened_at: Option<i64>,
    /// The preview carried by the message: width, height, JPEG bytes.
    #[serde(skip)]
    pub thumbnail: Option<(u16, u16, Vec<u8>)>,
    /// Where the bytes are.
    pub file: FileState,
}

impl AttachmentView {
    /// Whether the partner sees a veiled placeholder: view-once or expiring.
    pub fn is_ephemeral(&self) -> bool {
        self.view_once || self.expires_after_open_secs.is_some()
    }

    /// Whether it is a picture the app can show.
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }
}

/// Where an attachment's bytes are, on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileState {
    /// Every byte is here, checked: it can be opened and saved.
    Ready,
    /// On its way: `done` of the size has arrived and been checked.
    Arriving {
        /// Bytes here so far.
        done: u64,
        /// The user stopped it; it waits for "download".
        paused: bool,
    },
    /// Deleted for good: viewed once, expired, or deleted by its sender.
    Gone,
    /// Not on this device and not coming (lost before it was sent).
    Missing,
    /// The message is here; its sender is still sealing the file, after which it
    /// starts arriving.
    Preparing,
}

/// A reaction on a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReactionView {
    /// Who reacted.
    pub by: Author,
    /// The emoji.
    pub emoji: String,
}

/// One of the two partners, from this device's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// This device's user.
    Me,
    /// The partner.
    Partner,
}

/// The state of this device.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// This device's peer id.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listen: Vec<String>,
    /// Whether it is paired.
    pub paired: bool,
    /// The partner's profile, once paired.
    pub partner: Option<Profile>,
    /// Whether the partner's device is connected now.
    pub online: bool,
    /// This user's profile, once set up.
    pub profile: Option<Profile>,
    /// Where the store's key is kept: `passphrase` or `key_file`.
    pub key_protection: &'static str,
    /// The words both saw at pairing, to compare again later.
    pub safety_words: Vec<String>,
    /// How the partner's device is connected now.
    pub connection: Connection,
    /// Whether this device looks for its partner across the internet (relays, DHT,
    /// UPnP); false means the local network only.
    pub internet: bool,
    /// The relays this device keeps a reservation on while `internet` is on.
    pub relays: Vec<String>,
    /// Extra DHT servers its rendezvous records go to (every relay is one too).
    pub dht: Vec<String>,
}

/// How the two devices are connected, as the header says it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not connected: messages wait on this device.
    #[default]
    Offline,
    /// Through a relay, which forwards ciphertext only.
    Relay,
    /// Directly across the internet.
    Direct,
    /// Directly on the same local network.
    Nearby,
}

/// An invite to show and send.
#[derive(Clone, Debug, Serialize)]
pub struct InviteInfo {
    /// The invite as text.
    pub code: String,
    /// The bytes for a QR code.
    #[serde(skip)]
    pub qr_bytes: Vec<u8>,
    /// When it expires, ms since the Unix epoch.
    pub expires_at: i64,
}

/// A finished pairing.
#[derive(Clone, Debug, Serialize)]
pub struct PairedInfo {
    /// The partner's profile.
    pub partner: Profile,
    /// The words to compare.
    pub safety_words: Vec<String>,
}

/// Something the engine reports without being asked.
#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// Listening on a new address.
    Listening(String),
    /// Paired (as the device that showed the code or invite).
    Paired(PairedInfo),
    /// Someone tried to pair with this device's code or invite and failed.
    PairingFailed(PairingFailure),
    /// A new message, mine or the partner's.
    Message(MessageView),
    /// A message was edited, deleted or reacted to.
    MessageChanged(MessageView),
    /// One of my messages moved on.
    Delivery {
        /// The message id.
        id: MessageId,
        /// Its new state.
        state: Delivery,
    },
    /// The partner's device connected or went away.
    Presence {
        /// Whether it is connected now.
        online: bool,
    },
    /// The path to the partner's device changed (say, a relayed connection became a
    /// direct one).
    Connection(Connection),
    /// The partner is typing.
    Typing,
    /// The partner changed their profile.
    PartnerProfile(Profile),
    /// An attachment's bytes moved: arriving here (`incoming`) or leaving for the
    /// partner.
    Transfer {
        /// The message id.
        id: MessageId,
        /// Bytes the receiving side holds now.
        done: u64,
        /// The file's size.
        total: u64,
        /// Arriving here, rather than leaving.
        incoming: bool,
    },
    /// An attachment has fully arrived and its hash checked.
    TransferDone {
        /// The message id.
        id: MessageId,
        /// BLAKE3 of the file, hex.
        blake3: String,
        /// Bytes this run of the download received (less than the size when it
        /// resumed from an earlier run).
        received: u64,
        /// Chunks that failed their hash check and were asked for again.
        rejected_chunks: u32,
    },
    /// An attachment could not be fetched now; it is tried again later unless
    /// the reason says otherwise.
    TransferFailed {
        /// The message id.
        id: MessageId,
        /// Why.
        reason: String,
    },
    /// Something went wrong that no command is waiting to hear about.
    Error(String),
}

/// Why a pairing did not complete: what the UI says (in the user's language) and
/// scripts match on ([`PairingFailure::code`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PairingFailure {
    /// The two devices did not use the same code.
    #[error("the codes did not match; check the code and try again")]
    CodeMismatch,
    /// The other device shows no code.
    #[error("the other device is not waiting to pair")]
    NotPairing,
    /// The code or invite has expired.
    #[error("this code has expired; ask for a new one")]
    Expired,
    /// The code was tried too many times.
    #[error("this code was tried too many times; ask for a new one")]
    TooManyTries,
    /// The other device is pairing with someone else right now.
    #[error("the other device is busy pairing; try again in a moment")]
    Busy,
    /// The other device stopped answering mid-way.
    #[error("the other device stopped answering")]
    Timeout,
    /// The other device could not be reached; the network's words.
    #[error("could not reach the other device ({0})")]
    Unreachable(String),
    /// The other device sent something the protocol does not allow.
    #[error("the other device sent something unexpected")]
    Protocol,
    /// This device is already pairing.
    #[error("already pairing")]
    AlreadyPairing,
    /// The text is not a whole, valid invite; why.
    #[error("this is not a valid invite ({0})")]
    BadInvite(String),
    /// The invite is this device's own.
    #[error("this is your own invite; send it to your partner")]
    OwnInvite,
    /// The invite has no address to reach its maker at.
    #[error("the invite has no address to reach your partner at; ask for a new one")]
    NoAddress,
    /// Neither six digits nor an invite.
    #[error("enter the six digits, or paste the whole invite")]
    NotACode,
    /// Someone tried a wrong code against this device's; `tries_left` remain (none:
    /// the code no longer works).
    #[error("{}", wrong_code_tried(*tries_left))]
    WrongCodeTried {
        /// Tries the code survives still.
        tries_left: u32,
    },
}

fn wrong_code_tried(tries_left: u32) -> String {
    if tries_left == 0 {
        "a wrong code was tried; the code no longer works, make a new one".into()
    } else {
        format!("a wrong code was tried; {tries_left} tries left")
    }
}

impl PairingFailure {
    /// A short stable code for scripts (`code_mismatch`, `expired`, …).
    pub fn code(&self) -> &'static str {
        match self {
            PairingFailure::CodeMismatch => "code_mismatch",
            PairingFailure::NotPairing => "not_pairing",
            PairingFailure::Expired => "expired",
            PairingFailure::TooManyTries => "too_many_tries",
            PairingFailure::Busy => "busy",
            PairingFailure::Timeout => "timeout",
            PairingFailure::Unreachable(_) => "unreachable",
            PairingFailure::Protocol => "protocol",
            PairingFailure::AlreadyPairing => "already_pairing",
            PairingFailure::BadInvite(_) => "bad_invite",
            PairingFailure::OwnInvite => "own_invite",
            PairingFailure::NoAddress => "no_address",
            PairingFailure::NotACode => "not_a_code",
            PairingFailure::WrongCodeTried { .. } => "wrong_code_tried",
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not open or write.
    #[error(transparent)]
    Open(#[from] hearth_store::OpenError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// The network failed.
    #[error(transparent)]
    Net(#[from] hearth_net::NetError),
    /// The profile is not set up (`init` first).
    #[error("set up your profile first")]
    NoProfile,
    /// Needs a partner and there is none.
    #[error("not paired yet")]
    NotPaired,
    /// Already paired.
    #[error("already paired")]
    AlreadyPaired,
    /// A message id that does not name a message.
    #[error("no such message: {0}")]
    NoSuchMessage(MessageId),
    /// Editing or deleting the partner's message.
    #[error("only the author can change a message")]
    NotYours,
    /// Input that breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// Pairing failed.
    #[error("pairing failed: {0}")]
    Pairing(PairingFailure),
    /// A file could not be read or written.
    #[error("{0}")]
    File(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

impl NodeError {
    /// A short stable code for scripts (`not_paired`, `pairing_failed`, …).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Open(hearth_store::OpenError::WrongPassphrase) => "wrong_passphrase",
            NodeError::Open(hearth_store::OpenError::Locked { .. }) => "profile_locked",
            NodeError::Open(_) => "open_failed",
            NodeError::Store(_) => "store",
            NodeError::Net(_) => "network",
            NodeError::NoProfile => "no_profile",
            NodeError::NotPaired => "not_paired",
            NodeError::AlreadyPaired => "already_paired",
            NodeError::NoSuchMessage(_) => "no_such_message",
            NodeError::NotYours => "not_yours",
            NodeError::Invalid(_) => "invalid",
            NodeError::Pairing(_) => "pairing_failed",
            NodeError::File(_) => "file",
            NodeError::Stopped => "stopped",
        }
    }
}

/// Writes bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A message: the op that wrote it. Written as `<author hex>:<seq>` in JSON, in
/// headless commands and in logs; everywhere else it is this type, so an id can only
/// be one the engine made or one that was read and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub OpId);

impl MessageId {
    /// The op behind the message.
    pub fn op(self) -> OpId {
        self.0
    }
}

impl From<OpId> for MessageId {
    fn from(id: OpId) -> MessageId {
        MessageId(id)
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0.author.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ":{}", self.0.seq)
    }
}

/// Text that is not a message id: not `<64 hex digits>:<seq ≥ 1>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a message id: {0:?}")]
pub struct BadMessageId(pub String);

impl std::str::FromStr for MessageId {
    type Err = BadMessageId;

    fn from_str(text: &str) -> Result<MessageId, BadMessageId> {
        let bad = || BadMessageId(text.chars().take(80).collect());
        let (hex, seq) = text.split_once(':').ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut author = [0u8; 32];
        for (i, byte) in author.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        let seq = seq.parse().ok().filter(|&s| s > 0).ok_or_else(bad)?;
        Ok(MessageId(OpId {
            author: DeviceId(author),
            seq,
        }))
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MessageId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_read_back_as_written_and_refuse_anything_else() {
        let id = MessageId(OpId {
            author: DeviceId([0xab; 32]),
            seq: 42,
        });
        let text = id.to_string();
        assert_eq!(text, format!("{}:42", "ab".repeat(32)));
        assert_eq!(text.parse::<MessageId>(), Ok(id));
        assert_eq!(
            serde_json::to_value(id).ok(),
            Some(serde_json::Value::String(text.clone()))
        );
        assert_eq!(
            serde_json::from_value::<MessageId>(serde_json::Value::String(text)).ok(),
            Some(id)
        );
        for bad in [
            "",
            "42",
            &format!("{}:42", "ab".repeat(31)),
            &format!("{}:0", "ab".repeat(32)),
            &format!("{}:-1", "ab".repeat(32)),
            &format!("{}:42", "zz".repeat(32)),
            &format!("{}é:42", "ab".repeat(31)),
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} was accepted");
        }
    }
}
