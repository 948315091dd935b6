//! The couple's history on disk: an encrypted, crash-safe sled database in one profile
//! directory.
//!
//! This is the only crate that imports sled. Every value it writes is sealed with
//! XChaCha20-Poly1305 under a random data key, with the value's key as associated
//! data so that values cannot be moved between places. The data key is wrapped by a
//! key derived with Argon2id from the user's passphrase, or, when the user sets none,
//! kept in a `0600` key file beside the database (and [`Store::key_protection`] says
//! so, for the UI to tell the user).
//!
//! The store knows ops, watermarks, acknowledgements and settings. It knows nothing of
//! the network, of pairing, or of the UI: it never decides *whom* to trust, only keeps
//! what it is given, exactly once and in order.
//!
//! Profile directory layout:
//!
//! ```text
//! hearth.lock   held while a process has the profile open
//! keys.bin      how the data key is protected (salt, Argon2 parameters, wrapped key)
//! data.key      the data key itself, only when no passphrase is set (mode 0600)
//! db/           the sled database; every value in it is ciphertext
//! files/        attachments, one file each, every chunk sealed under the file's
//!               own key (half sealed in the database, half in the file's header)
//! ```

mod backup;
mod blobs;
mod cipher;
mod direct;
mod error;
mod keys;
mod mailbox;
mod rekey;
mod store;

pub use backup::{
    BackupError, BackupReader, BackupSource, BackupSummary, BackupWriter, FORMAT_VERSION, MAGIC,
    Record,
};
pub use blobs::{
    BlobReader, BlobStatus, BlobStore, BlobWriter, Checkpoint, Hashed, Imported, Sealing, Staged,
    chunks_root,
};
pub use error::{OpenError, StoreError};
pub use keys::{KdfParams, KeyProtection};
pub use mailbox::{MailboxError, MailboxStore, Numbered};
pub use store::{Applied, SCHEMA_VERSION, Store};
