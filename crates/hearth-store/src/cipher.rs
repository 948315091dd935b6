//! Sealing values at rest.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 24;

/// The data key in use, ready to seal and open values. Random nonces: at 24 bytes,
/// collisions are out of reach for any number of values one couple writes.
pub(crate) struct Cipher {
    aead: XChaCha20Poly1305,
}

impl Cipher {
    pub(crate) fn new(key: &Zeroizing<[u8; 32]>) -> Cipher {
        Cipher {
            aead: XChaCha20Poly1305::new(key.as_ref().into()),
        }
    }

    /// Seals `plain`, bound to `aad` (the value's place), as nonce ‖ ciphertext.
    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption only fails for inputs over 256 GiB.
        if let Ok(ct) = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        {
            out.extend_from_slice(&ct);
        }
        out
    }

    /// Opens a value sealed by [`Cipher::seal`] for the same `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.aead
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }
}
