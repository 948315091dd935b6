//! Letters: what one of the couple's devices leaves for the other at a mailbox they
//! run, sealed so the mailbox reads nothing but their size and who they are for.
//!
//! Like [`Rendezvous`](crate::Rendezvous), the key comes from the X25519 agreement of
//! the two devices' Noise static keys, which only the pairing handshake ever carried:
//! the mailbox never learns it. Each letter is padded before it is sealed (to a power
//! of two up to 64 KiB, then to a multiple of 64 KiB), so a mailbox cannot tell a
//! "yes" from a paragraph, and bound to its sender and recipient, so it cannot be
//! handed to the wrong device or passed off as the other partner's. The key is also
//! bound to the pairing (the tag of its safety words): two devices that end a
//! pairing and pair again cannot open a letter left under the old one, so a mailbox
//! replaying old letters cannot bring back a forgotten history.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::StaticKeypair;

const SALT: &[u8] = b"hearth/mailbox/1";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const LEN_BYTES: usize = 4;
/// Letters are padded to a power of two up to this, then to multiples of it.
const PAD_STEP: usize = 64 * 1024;
/// The smallest padded letter.
const PAD_MIN: usize = 512;

/// A sealed letter that does not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LetterError {
    /// Not sealed by the partner's device for this one, or damaged.
    #[error("not a letter from the partner's device")]
    NotOurs,
}

/// The letter keys of one couple, seen from one of its two devices.
pub struct Letters {
    aead: XChaCha20Poly1305,
    mine: [u8; 32],
    theirs: [u8; 32],
}

impl std::fmt::Debug for Letters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letters").finish_non_exhaustive()
    }
}

/// How long `len` bytes of letter are once padded.
fn padded(len: usize) -> usize {
    let len = len + LEN_BYTES;
    if len <= PAD_MIN {
        PAD_MIN
    } else if len <= PAD_STEP {
        len.next_power_of_two()
    } else {
        len.div_ceil(PAD_STEP) * PAD_STEP
    }
}

impl Letters {
    /// The keys for this device (`me`) and the partner whose static public key is
    /// `partner`, under the pairing named by `pairing` (say, `unpair_tag` of its
    /// safety words). Both devices derive the same key.
    pub fn new(me: &StaticKeypair, partner: &[u8; 32], pairing: &[u8; 32]) -> Letters {
        let shared = Zeroizing::new(MontgomeryPoint(*partner).mul_clamped(*me.private).0);
        let prk = Hkdf::<Sha256>::new(Some(SALT), shared.as_ref());
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160.
        let _ = prk.expand_multi_info(&[b"letters", pairing], key.as_mut());
        Letters {
            aead: XChaCha20Poly1305::new(key.as_ref().into()),
            mine: me.public,
            theirs: *partner,
        }
    }

    /// Seals `letter` for the partner's device: nonce, then the padded letter sealed.
    pub fn seal(&self, letter: &[u8]) -> Vec<u8> {
        let mut body = Zeroizing::new(Vec::with_capacity(padded(letter.len())));
        body.extend_from_slice(&(letter.len() as u32).to_le_bytes());
        body.extend_from_slice(letter);
        body.resize(padded(letter.len()), 0);
        let mut nonce = [0u8; NONCE_BYTES];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = bound(&self.mine, &self.theirs);
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &body,
                    aad: &aad,
                },
            )
            // XChaCha20-Poly1305 fails only on messages of 256 GiB and more.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a letter the partner's device sealed for this one.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, LetterError> {
        if sealed.len() < NONCE_BYTES + TAG_BYTES + LEN_BYTES {
            return Err(LetterError::NotOurs);
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let aad = bound(&self.theirs, &self.mine);
        let body = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| LetterError::NotOurs)?;
        let (len, rest) = body.split_at(LEN_BYTES);
        let len = u32::from_le_bytes(len.try_into().map_err(|_| LetterError::NotOurs)?) as usize;
        rest.get(..len)
            .map(<[u8]>::to_vec)
            .ok_or(LetterError::NotOurs)
    }
}

/// What a letter is bound to: who sealed it and for whom.
fn bound(from: &[u8; 32], to: &[u8; 32]) -> [u8; 80] {
    let mut aad = [0u8; 80];
    aad[..16].copy_from_slice(b"hearth-letter-v1");
    aad[16..48].copy_from_slice(from);
    aad[48..].copy_from_slice(to);
    aad
}

/// What a device shows a mailbox to join it: a keyed hash of both ends of the
/// connection under the invite's secret. The connection already proves who both
/// ends are (libp2p's Noise handshake, and the device dialled the peer id the invite
/// names), and the secret has 128 bits: one proof can be neither guessed nor used on
/// another connection, so the short-code machinery of [`Pairing`](crate::Pairing)
/// is not needed here.
pub fn join_proof(secret: &[u8; 16], device: &[u8], mailbox: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(secret);
    key[16..].copy_from_slice(b"hearth-mailbox-1");
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(&(device.len() as u32).to_le_bytes());
    hasher.update(device);
    hasher.update(mailbox);
    *hasher.finalize().as_bytes()
}

/// Compares two proofs in constant time.
pub fn proofs_match(a: &[u8; 32], b: &[u8; 32]) -> bool {
    blake3::Hash::from(*a) == blake3::Hash::from(*b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIRING: [u8; 32] = [3; 32];

    fn pair() -> (Letters, Letters, Letters) {
        let arta = StaticKeypair::generate().unwrap();
        let ben = StaticKeypair::generate().unwrap();
        let eve = StaticKeypair::generate().unwrap();
        (
            Letters::new(&arta, &ben.public, &PAIRING),
            Letters::new(&ben, &arta.public, &PAIRING),
            Letters::new(&eve, &ben.public, &PAIRING),
        )
    }

    #[test]
    fn a_letter_from_an_earlier_pairing_of_the_same_devices_does_not_open() {
        let arta = StaticKeypair::generate().unwrap();
        let ben = StaticKeypair::generate().unwrap();
        let old = Letters::new(&arta, &ben.public, &[1; 32]).seal(b"from before");
        let now = Letters::new(&ben, &arta.public, &[2; 32]);
        assert_eq!(now.open(&old), Err(LetterError::NotOurs));
    }

    #[test]
    fn a_letter_opens_only_for_the_partner_and_only_as_sent() {
        let (arta, ben, eve) = pair();
        let sealed = arta.seal(b"see you at eight");
        assert_eq!(ben.open(&sealed).unwrap(), b"see you at eight");
        // Not for the sender itself (bound to its direction), nor from a stranger.
        assert_eq!(arta.open(&sealed), Err(LetterError::NotOurs));
        assert_eq!(ben.open(&eve.seal(b"hi")), Err(LetterError::NotOurs));
        let mut damaged = sealed.clone();
        damaged[40] ^= 1;
        assert_eq!(ben.open(&damaged), Err(LetterError::NotOurs));
        assert_eq!(ben.open(&sealed[..20]), Err(LetterError::NotOurs));
    }

    #[test]
    fn lengths_are_hidden_in_buckets() {
        let (arta, ben, _) = pair();
        let short = arta.seal(b"yes");
        let long = arta.seal(&[b'x'; 400]);
        assert_eq!(short.len(), long.len());
        let chunk = arta.seal(&vec![7u8; 1024 * 1024 + 100]);
        assert_eq!(
            chunk.len(),
            NONCE_BYTES + TAG_BYTES + 1024 * 1024 + PAD_STEP
        );
        assert_eq!(ben.open(&chunk).unwrap().len(), 1024 * 1024 + 100);
        // No plaintext shows in the sealed bytes.
        let marker = b"MARKER-7f3a-plaintext";
        let sealed = arta.seal(marker);
        assert!(!sealed.windows(marker.len()).any(|w| w == marker));
    }

    #[test]
    fn a_join_proof_is_bound_to_its_secret_and_both_ends() {
        let secret = [9u8; 16];
        let proof = join_proof(&secret, b"device-a", b"mailbox");
        assert!(proofs_match(
            &proof,
            &join_proof(&secret, b"device-a", b"mailbox")
        ));
        assert!(!proofs_match(
            &proof,
            &join_proof(&[8u8; 16], b"device-a", b"mailbox")
        ));
        assert!(!proofs_match(
            &proof,
            &join_proof(&secret, b"device-b", b"mailbox")
        ));
        assert!(!proofs_match(
            &proof,
            &join_proof(&secret, b"device-a", b"other")
        ));
    }
}
