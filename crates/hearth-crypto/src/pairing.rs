//! The pairing handshake as a state machine: feed it the peer's messages, send what it
//! returns.
//!
//! ```text
//! initiator                                   responder
//!   SPAKE2 message          ───────────▶
//!                           ◀───────────      SPAKE2 message
//!   Noise  -> e             ───────────▶
//!                           ◀───────────      Noise  <- e, ee, s, es
//!   Noise  -> s, se, psk    ───────────▶      (fails here if the codes differ)
//!     + initiator profile
//!                           ◀───────────      transport: responder profile
//! ```
//!
//! The Noise pre-shared key comes from the SPAKE2 key, so the handshake completes only
//! if both typed the same code; a wrong code costs an attacker one online guess. Each
//! side's profile travels only under keys that the psk already authenticates.

use hkdf::Hkdf;
use sha2::Sha256;
use snow::{HandshakeState, TransportState};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use crate::words::SafetyWords;

const NOISE_PATTERN: &str = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s";
const CONTEXT: &[u8] = b"hearth-pair-v1";
const MAX_MESSAGE: usize = 65535;
/// Largest profile either side may send: name, language, time zone and a little more.
pub(crate) const MAX_PROFILE: usize = 4096;

/// A device's long-term Noise static key, made once and kept in the store.
#[derive(Clone)]
pub struct StaticKeypair {
    /// The X25519 private key.
    pub private: Zeroizing<[u8; 32]>,
    /// The X25519 public key.
    pub public: [u8; 32],
}

impl std::fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeypair").finish_non_exhaustive()
    }
}

impl StaticKeypair {
    /// A fresh random key pair.
    pub fn generate() -> Result<StaticKeypair, PairingError> {
        let keypair = snow::Builder::new(params()?).generate_keypair()?;
        Ok(StaticKeypair {
            private: Zeroizing::new(
                keypair
                    .private
                    .as_slice()
                    .try_into()
                    .map_err(|_| PairingError::Internal("key length"))?,
            ),
            public: keypair
                .public
                .as_slice()
                .try_into()
                .map_err(|_| PairingError::Internal("key length"))?,
        })
    }
}

/// What both sides need to start.
pub struct PairingInput<'a> {
    /// The code both typed or carried: an invite's secret or six digits.
    pub code: &'a [u8],
    /// The initiator's peer id bytes.
    pub initiator: &'a [u8],
    /// The responder's peer id bytes.
    pub responder: &'a [u8],
    /// This device's static key.
    pub local_static: &'a StaticKeypair,
    /// This device's profile, opaque bytes, at most 4 KiB.
    pub profile: Vec<u8>,
}

/// How a pairing failed.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    /// The two devices used different codes (or someone guessed wrong).
    #[error("the codes did not match")]
    CodeMismatch,
    /// A message out of turn, too long or malformed.
    #[error("the other device sent something unexpected")]
    Protocol,
    /// A profile over the limit.
    #[error("profile too large")]
    ProfileTooLarge,
    /// A fault in this device's cryptography setup.
    #[error("pairing failed: {0}")]
    Internal(&'static str),
}

impl From<snow::Error> for PairingError {
    fn from(_: snow::Error) -> PairingError {
        PairingError::Internal("noise")
    }
}

/// The result of a successful pairing, the same on both sides but for who is who.
#[derive(Debug)]
pub struct Paired {
    /// The partner's Noise static public key.
    pub partner_static: [u8; 32],
    /// The partner's profile bytes.
    pub partner_profile: Vec<u8>,
    /// The words to compare.
    pub safety_words: SafetyWords,
}

/// What to do after feeding a message in.
#[derive(Debug)]
pub enum Progress {
    /// Send this to the peer and wait for its answer.
    Send(Vec<u8>),
    /// Pairing is complete; send the last message if there is one.
    Done {
        /// A last message for the peer.
        send: Option<Vec<u8>>,
        /// The outcome.
        paired: Paired,
    },
}

enum Stage {
    /// Initiator, waiting for the responder's SPAKE2 message.
    InitiatorSpake(Spake2<Ed25519Group>),
    /// Initiator, waiting for Noise message 2.
    InitiatorNoise(Box<HandshakeState>),
    /// Initiator, waiting for the responder's profile.
    InitiatorProfile(Box<TransportState>, [u8; 32], SafetyWords),
    /// Responder, waiting for the initiator's SPAKE2 message.
    ResponderSpake,
    /// Responder, waiting for Noise message 1.
    ResponderFirst(Box<HandshakeState>),
    /// Responder, waiting for Noise message 3.
    ResponderLast(Box<HandshakeState>),
    Finished,
}

/// One side of a pairing handshake in progress.
pub struct Pairing {
    stage: Stage,
    code: Zeroizing<Vec<u8>>,
    identity: Vec<u8>,
    prologue: Vec<u8>,
    local_static: StaticKeypair,
    profile: Vec<u8>,
}

fn params() -> Result<snow::params::NoiseParams, PairingError> {
    NOISE_PATTERN
        .parse()
        .map_err(|_| PairingError::Internal("noise pattern"))
}

impl Pairing {
    fn new(input: PairingInput<'_>, stage: Stage) -> Result<Pairing, PairingError> {
        if input.profile.len() > MAX_PROFILE {
            return Err(PairingError::ProfileTooLarge);
        }
        // SPAKE2's identity binds both devices (sorted, so both compute the same).
        let (low, high) = if input.initiator <= input.responder {
            (input.initiator, input.responder)
        } else {
            (input.responder, input.initiator)
        };
        let mut identity = CONTEXT.to_vec();
        for id in [low, high] {
            identity.extend_from_slice(&(id.len() as u32).to_be_bytes());
            identity.extend_from_slice(id);
        }
        // Noise's prologue binds the roles too: initiator first.
        let mut prologue = CONTEXT.to_vec();
        for id in [input.initiator, input.responder] {
            prologue.extend_from_slice(&(id.len() as u32).to_be_bytes());
            prologue.extend_from_slice(id);
        }
        Ok(Pairing {
            stage,
            code: Zeroizing::new(input.code.to_vec()),
            identity,
            prologue,
            local_static: input.local_static.clone(),
            profile: input.profile,
        })
    }

    /// Starts as the device that dialled; returns the first message to send.
    pub fn initiator(input: PairingInput<'_>) -> Result<(Pairing, Vec<u8>), PairingError> {
        let mut pairing = Pairing::new(input, Stage::Finished)?;
        let (spake, msg) = Spake2::<Ed25519Group>::start_symmetric(
            &Password::new(pairing.code.as_slice()),
            &Identity::new(&pairing.identity),
        );
        pairing.stage = Stage::InitiatorSpake(spake);
        Ok((pairing, msg))
    }

    /// Starts as the device that was dialled; it waits for the initiator's message.
    pub fn responder(input: PairingInput<'_>) -> Result<Pairing, PairingError> {
        Pairing::new(input, Stage::ResponderSpake)
    }

    /// Whether the next message fed in is the one that tries the code: the
    /// responder's wait for Noise message 3. A device that limits guesses counts
    /// one here, before feeding it in.
    pub fn next_tries_the_code(&self) -> bool {
        matches!(self.stage, Stage::ResponderLast(_))
    }

    fn noise(&self, spake_key: &[u8], initiator: bool) -> Result<HandshakeState, PairingError> {
        let mut psk = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(CONTEXT), spake_key)
            .expand(b"noise psk", psk.as_mut())
            .map_err(|_| PairingError::Internal("hkdf"))?;
        let builder = snow::Builder::new(params()?)
            .local_private_key(self.local_static.private.as_ref())?
            .psk(3, &psk)?
            .prologue(&self.prologue)?;
        Ok(if initiator {
            builder.build_initiator()?
        } else {
            builder.build_responder()?
        })
    }

    /// Feeds in the peer's next message.
    pub fn receive(&mut self, msg: &[u8]) -> Result<Progress, PairingError> {
        if msg.len() > MAX_MESSAGE {
            return Err(PairingError::Protocol);
        }
        let mut buf = vec![0u8; MAX_MESSAGE];
        match std::mem::replace(&mut self.stage, Stage::Finished) {
            Stage::InitiatorSpake(spake) => {
                let key = Zeroizing::new(spake.finish(msg).map_err(|_| PairingError::Protocol)?);
                let mut noise = self.noise(&key, true)?;
                let len = noise.write_message(&[], &mut buf)?;
                self.stage = Stage::InitiatorNoise(Box::new(noise));
                Ok(Progress::Send(buf[..len].to_vec()))
            }
            Stage::InitiatorNoise(mut noise) => {
                noise
                    .read_message(msg, &mut buf)
                    .map_err(|_| PairingError::Protocol)?;
                let len = noise.write_message(&self.profile, &mut buf)?;
                let (partner_static, words) = finished(&noise)?;
                let transport = noise.into_transport_mode()?;
                self.stage = Stage::InitiatorProfile(Box::new(transport), partner_static, words);
                Ok(Progress::Send(buf[..len].to_vec()))
            }
            Stage::InitiatorProfile(mut transport, partner_static, safety_words) => {
                // The responder answers a failed handshake with nothing, or garbage:
                // either way, our codes differed.
                let len = transport
                    .read_message(msg, &mut buf)
                    .map_err(|_| PairingError::CodeMismatch)?;
                profile_ok(len)?;
                Ok(Progress::Done {
                    send: None,
                    paired: Paired {
                        partner_static,
                        partner_profile: buf[..len].to_vec(),
                        safety_words,
                    },
                })
            }
            Stage::ResponderSpake => {
                let (spake, reply) = Spake2::<Ed25519Group>::start_symmetric(
                    &Password::new(self.code.as_slice()),
                    &Identity::new(&self.identity),
                );
                let key = Zeroizing::new(spake.finish(msg).map_err(|_| PairingError::Protocol)?);
                self.stage = Stage::ResponderFirst(Box::new(self.noise(&key, false)?));
                Ok(Progress::Send(reply))
            }
            Stage::ResponderFirst(mut noise) => {
                noise
                    .read_message(msg, &mut buf)
                    .map_err(|_| PairingError::Protocol)?;
                let len = noise.write_message(&[], &mut buf)?;
                self.stage = Stage::ResponderLast(noise);
                Ok(Progress::Send(buf[..len].to_vec()))
            }
            Stage::ResponderLast(mut noise) => {
                // Message 3 decrypts only under the right psk: a failure here is a
                // wrong code (or tampering, which must be treated the same).
                let len = noise
                    .read_message(msg, &mut buf)
                    .map_err(|_| PairingError::CodeMismatch)?;
                self.responder_done(*noise, &buf[..len])
            }
            Stage::Finished => Err(PairingError::Protocol),
        }
    }

    fn responder_done(
        &mut self,
        noise: HandshakeState,
        partner_profile: &[u8],
    ) -> Result<Progress, PairingError> {
        profile_ok(partner_profile.len())?;
        let (partner_static, safety_words) = finished(&noise)?;
        let mut transport = noise.into_transport_mode()?;
        let mut buf = vec![0u8; MAX_MESSAGE];
        let len = transport.write_message(&self.profile, &mut buf)?;
        Ok(Progress::Done {
            send: Some(buf[..len].to_vec()),
            paired: Paired {
                partner_static,
                partner_profile: partner_profile.to_vec(),
                safety_words,
            },
        })
    }
}

fn profile_ok(len: usize) -> Result<(), PairingError> {
    if len > MAX_PROFILE {
        Err(PairingError::ProfileTooLarge)
    } else {
        Ok(())
    }
}

fn finished(noise: &HandshakeState) -> Result<([u8; 32], SafetyWords), PairingError> {
    let partner_static: [u8; 32] = noise
        .get_remote_static()
        .and_then(|k| k.try_into().ok())
        .ok_or(PairingError::Protocol)?;
    Ok((
        partner_static,
        SafetyWords::from_handshake_hash(noise.get_handshake_hash()),
    ))
}
