use std::path::PathBuf;

use hearth_core::DeviceId;

/// Why a profile could not be created or opened. Every variant leaves the profile as
/// it was: nothing is deleted or rewritten on the way to any of these errors.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// There is no profile in that directory yet.
    #[error("no Hearth profile at {}", path.display())]
    NoProfile {
        /// The profile directory.
        path: PathBuf,
    },
    /// Creating a profile where one already exists.
    #[error("a Hearth profile already exists at {}", path.display())]
    AlreadyExists {
        /// The profile directory.
        path: PathBuf,
    },
    /// The profile is protected by a passphrase and none was given.
    #[error("this profile is protected by a passphrase")]
    PassphraseRequired,
    /// The passphrase does not unlock the data key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Another running Hearth has the profile open.
    #[error("the profile at {} is open in another running Hearth", path.display())]
    Locked {
        /// The profile directory.
        path: PathBuf,
    },
    /// sled refuses to open the database, e.g. after an unclean stop. It is kept as it
    /// is, for a later build or for recovery by hand.
    #[error(
        "the database at {} could not be opened ({reason}); it has been left untouched",
        path.display()
    )]
    Unopenable {
        /// The database directory.
        path: PathBuf,
        /// What sled said.
        reason: String,
    },
    /// The database was written by a newer Hearth.
    #[error(
        "this profile was written by a newer Hearth (schema {found}; this build reads up to {supported}); update Hearth to open it"
    )]
    NewerSchema {
        /// The schema version on disk.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The key file or key envelope is missing, unreadable or damaged.
    #[error("the key at {} is unusable: {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error on the profile directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Why a read or write on an open store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error (disk full, I/O).
    #[error("database error: {0}")]
    Database(String),
    /// A stored value does not decrypt or decode: the disk was damaged or tampered with.
    #[error("a stored value is damaged ({0})")]
    Corrupt(&'static str),
    /// A remote batch would leave a hole in an author's log; nothing of it was stored.
    #[error("ops by {author} must continue at seq {expected}, got {got}")]
    Gap {
        /// Whose log.
        author: DeviceId,
        /// The next seq the store can take.
        expected: u64,
        /// The seq that came.
        got: u64,
    },
    /// An op that breaks a limit or a rule (say, a remote op claiming to be ours).
    #[error("rejected op: {0}")]
    Invalid(&'static str),
    /// A file of an attachment could not be read or written.
    #[error("file store: {0}")]
    Files(String),
    /// Changing the passphrase failed while writing the key envelope.
    #[error(transparent)]
    Key(#[from] OpenError),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Database(e.to_string())
    }
}
