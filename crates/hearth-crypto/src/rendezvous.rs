//! Rendezvous records: where a paired device can be reached, left on the couple's DHT
//! servers for the partner to find after either side's address changed.
//!
//! Both devices hold the same secret without ever sending it: the X25519 agreement of
//! one's Noise static key with the other's (exchanged only inside the pairing
//! handshake). From it come a sealing key and, per device and per UTC day, the key a
//! record is stored under. A DHT server, or anyone watching it, sees random-looking
//! keys that change daily and sealed values: nothing links the two devices, and no
//! address can be read or forged without the secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::StaticKeypair;

const SALT: &[u8] = b"hearth/rendezvous/1";
const NONCE_BYTES: usize = 24;
/// Records larger than this are refused unread.
const MAX_SEALED: usize = 8 * 1024;

/// A record that is not a sealed rendezvous record from the partner.
#[derive(Debug, thiserror::Error)]
pub enum RendezvousError {
    /// Too short, too long, or not sealed under the pair's key.
    #[error("not a rendezvous record from the partner")]
    NotOurs,
}

/// The rendezvous keys of one pair, seen from one of its two devices.
pub struct Rendezvous {
    aead: XChaCha20Poly1305,
    prk: Hkdf<Sha256>,
    mine: [u8; 32],
    theirs: [u8; 32],
}

impl std::fmt::Debug for Rendezvous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendezvous").finish_non_exhaustive()
    }
}

impl Rendezvous {
    /// The keys for this device (`me`) and the partner whose static public key is
    /// `partner`. Both devices derive the same secret.
    pub fn new(me: &StaticKeypair, partner: &[u8; 32]) -> Rendezvous {
        let shared = Zeroizing::new(MontgomeryPoint(*partner).mul_clamped(*me.private).0);
        let prk = Hkdf::<Sha256>::new(Some(SALT), shared.as_ref());
        let mut seal = Zeroizing::new([0u8; 32]);
        expand(&prk, &[b"seal"], seal.as_mut());
        Rendezvous {
            aead: XChaCha20Poly1305::new(seal.as_ref().into()),
            prk,
            mine: me.public,
            theirs: *partner,
        }
    }

    fn slot(&self, device: &[u8; 32], day: i64) -> Vec<u8> {
        let mut key = vec![0u8; 32];
        expand(&self.prk, &[b"slot", device, &day.to_be_bytes()], &mut key);
        key
    }

    /// The DHT key this device publishes under on `day` (days since the Unix epoch,
    /// UTC).
    pub fn my_key(&self, day: i64) -> Vec<u8> {
        self.slot(&self.mine, day)
    }

    /// The DHT key the partner publishes under on `day`.
    pub fn partner_key(&self, day: i64) -> Vec<u8> {
        self.slot(&self.theirs, day)
    }

    /// Seals this device's record (its addresses, say) for the partner to open, on
    /// `day`: it opens under that day only, so a record replayed under another
    /// day's key is refused.
    pub fn seal(&self, day: i64, payload: &[u8]) -> Vec<u8> {
        let aad = bound(&self.mine, day);
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: payload,
                    aad: &aad,
                },
            )
            // XChaCha20-Poly1305 fails only on messages of 256 GiB and more.
            .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a record the partner sealed for `day`; anything else is refused.
    pub fn open(&self, day: i64, sealed: &[u8]) -> Result<Vec<u8>, RendezvousError> {
        let aad = bound(&self.theirs, day);
        if sealed.len() < NONCE_BYTES + 16 || sealed.len() > MAX_SEALED {
            return Err(RendezvousError::NotOurs);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| RendezvousError::NotOurs)
    }
}

/// What a record is bound to: its author and its day.
fn bound(device: &[u8; 32], day: i64) -> [u8; 40] {
    let mut aad = [0u8; 40];
    aad[..32].copy_from_slice(device);
    aad[32..].copy_from_slice(&day.to_be_bytes());
    aad
}

fn expand(prk: &Hkdf<Sha256>, info: &[&[u8]], out: &mut [u8]) {
    // 32 bytes is far below HKDF-SHA256's limit of 8160.
    let _ = prk.expand_multi_info(info, out);
}
