use data_encoding::BASE32_NOPAD;
use rand::Rng;
use serde::{Deserialize, Serialize};

const TEXT_PREFIX: &str = "hearth:";
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
        format!(
            "{TEXT_PREFIX}{}",
            BASE32_NOPAD.encode(&self.to_bytes()).to_lowercase()
        )
    }

    /// Reads an invite pasted as text, forgiving spaces, line breaks and case.
    pub fn from_text(text: &str) -> Result<Invite, InviteError> {
        let text = text.trim();
        let body = text
            .strip_prefix(TEXT_PREFIX)
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
