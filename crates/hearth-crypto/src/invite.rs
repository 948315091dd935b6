use data_encoding::BASE32_NOPAD;
use rand::Rng;
use serde::{Deserialize, Serialize};

const TEXT_PREFIX: &str = "hearth:";
const MAILBOX_PREFIX: &str = "hearth-mailbox:";

/// What an invite lets a device join: a partner's device, or the couple's mailbox.
/// The text says which (`hearth:` or `hearth-mailbox:`), so one pasted in the wrong
/// place is named for what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteKind {
    /// A partner's invite: pairs two devices.
    Partner,
    /// A mailbox's invite: lets the couple's devices leave letters there.
    Mailbox,
}

impl InviteKind {
    fn prefix(self) -> &'static str {
        match self {
            InviteKind::Partner => TEXT_PREFIX,
            InviteKind::Mailbox => MAILBOX_PREFIX,
        }
    }
}
const MAX_INVITE_BYTES: usize = 2048;
const MAX_ADDRS: usize = 16;
const MAX_ADDR_BYTES: usize = 128;
const MAX_PEER_BYTES: usize = 64;

/// What one partner sends the other to pair from anywhere: who to reach, where, and
/// the secret that proves the invite came from them. Valid until `expires_at_ms` and
/// for three wrong tries, whichever comes first (the inviter's device enforces both).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The inviter's peer id, as bytes.
    pub peer: Vec<u8>,
    /// Addresses the inviter listens on, as multiaddr bytes.
    pub addrs: Vec<Vec<u8>>,
    /// The 128-bit pairing secret.
    pub secret: [u8; 16],
    /// When the invite stops working, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Why an invite could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InviteError {
    /// It does not start with `hearth:`.
    #[error("this is not a Hearth invite")]
    NotAnInvite,
    /// It was cut short or changed on the way.
    #[error("this invite is damaged; ask your partner to send it again")]
    Damaged,
    /// An invite of the other kind: a mailbox's where a partner's was expected, or
    /// the other way round.
    #[error("this is a Hearth invite of another kind")]
    OtherKind(InviteKind),
}

impl Invite {
    /// The invite as bytes, for a QR code.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard_bytes(self)
    }

    /// Reads an invite from a QR code's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Invite, InviteError> {
        if bytes.len() > MAX_INVITE_BYTES {
            return Err(InviteError::Damaged);
        }
        let (&version, rest) = bytes.split_first().ok_or(InviteError::Damaged)?;
        if version != 1 {
            return Err(InviteError::Damaged);
        }
        let (invite, tail): (Invite, _) =
            postcard::take_from_bytes(rest).map_err(|_| InviteError::Damaged)?;
        let checksum: [u8; 4] = tail.try_into().map_err(|_| InviteError::Damaged)?;
        if checksum != blake3::hash(&bytes[..bytes.len() - 4]).as_bytes()[..4] {
            return Err(InviteError::Damaged);
        }
        let sane = invite.peer.len() <= MAX_PEER_BYTES
            && invite.addrs.len() <= MAX_ADDRS
            && invite.addrs.iter().all(|a| a.len() <= MAX_ADDR_BYTES);
        if !sane {
            return Err(InviteError::Damaged);
        }
        Ok(invite)
    }

    /// The invite as text to paste into any messenger or email: `hearth:` and base32.
    pub fn to_text(&self) -> String {
        self.to_text_as(InviteKind::Partner)
    }

    /// The invite as text of the given kind.
    pub fn to_text_as(&self, kind: InviteKind) -> String {
        format!(
            "{}{}",
            kind.prefix(),
            BASE32_NOPAD.encode(&self.to_bytes()).to_lowercase()
        )
    }

    /// Reads an invite pasted as text, forgiving spaces, line breaks and case.
    pub fn from_text(text: &str) -> Result<Invite, InviteError> {
        Invite::from_text_as(InviteKind::Partner, text)
    }

    /// Reads a pasted invite of the given kind; one of the other kind is named.
    pub fn from_text_as(kind: InviteKind, text: &str) -> Result<Invite, InviteError> {
        let text = text.trim();
        let other = match kind {
            InviteKind::Partner => InviteKind::Mailbox,
            InviteKind::Mailbox => InviteKind::Partner,
        };
        if text.starts_with(other.prefix()) {
            return Err(InviteError::OtherKind(other));
        }
        let body = text
            .strip_prefix(kind.prefix())
            .ok_or(InviteError::NotAnInvite)?;
        let cleaned: String = body
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.len() > MAX_INVITE_BYTES * 2 {
            return Err(InviteError::Damaged);
        }
        let bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| InviteError::Damaged)?;
        Invite::from_bytes(&bytes)
    }
}

/// Version byte, postcard body, and the first four bytes of its BLAKE3 hash, so a
/// character lost in copying is caught before anyone dials.
fn postcard_bytes(invite: &Invite) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend(postcard::to_allocvec(invite).unwrap_or_default());
    let checksum = blake3::hash(&out);
    out.extend_from_slice(&checksum.as_bytes()[..4]);
    out
}

/// Six random digits for pairing on the same network.
pub fn nearby_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}
