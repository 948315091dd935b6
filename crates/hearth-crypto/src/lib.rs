//! The cryptography of pairing two devices, as bytes in and bytes out.
//!
//! [`Pairing`] runs SPAKE2 over a short code, then Noise `XXpsk3_25519_ChaChaPoly_BLAKE2s`
//! keyed by the SPAKE2 result, exchanging each side's static key and profile; both
//! sides end with the same [`SafetyWords`] to compare. [`Invite`] is what carries a
//! code across the world; [`nearby_code`] makes the six digits for pairing on a LAN.
//! [`Rendezvous`] names and seals the records a paired device leaves on the DHT so
//! its partner can find it again after an address change. [`Letters`] seals what
//! one device leaves for the other at the couple's mailbox.
//!
//! Sans-I/O: this crate never touches a socket, a file or a clock (expiry times are
//! compared against a time the caller passes in). It knows nothing of libp2p: peer
//! ids and addresses are opaque bytes here.

mod invite;
mod mailbox;
mod pairing;
mod rendezvous;
mod words;

pub use invite::{Invite, InviteError, InviteKind, nearby_code};
pub use mailbox::{LetterError, Letters, join_proof, proofs_match};
pub use pairing::{Paired, Pairing, PairingError, PairingInput, Progress, StaticKeypair};
pub use rendezvous::{Rendezvous, RendezvousError};
pub use words::{SafetyWords, unpair_tag};
