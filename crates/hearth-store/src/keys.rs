//! The data key and how it is kept: wrapped by a passphrase, or in a key file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cipher::Cipher;
use crate::error::OpenError;

pub(crate) const ENVELOPE_FILE: &str = "keys.bin";
pub(crate) const KEY_FILE: &str = "data.key";
const WRAP_AAD: &[u8] = b"hearth data key v1";
const MAX_ENVELOPE_BYTES: usize = 4096;

/// Where the data key of a profile is kept. The UI says this to the user in plain words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProtection {
    /// Wrapped by a key derived from the user's passphrase with Argon2id; nothing on
    /// disk opens the profile without the passphrase.
    Passphrase,
    /// In a file readable only by the user (`data.key`, mode 0600) next to the
    /// database: anyone who can read the user's files can read the history.
    KeyFile,
}

/// Argon2id cost parameters for deriving the wrapping key from a passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about a third of a second here, and well above the
    /// OWASP minimum for Argon2id.
    fn default() -> KdfParams {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// The most memory a profile's key derivation may ask for: 1 GiB.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    /// The most passes.
    pub const MAX_ITERATIONS: u32 = 16;
    /// The most lanes.
    pub const MAX_PARALLELISM: u32 = 8;

    /// Whether these costs are within what Hearth ever writes, with room to grow.
    /// A damaged or planted `keys.bin` asking for terabytes or endless passes is
    /// refused with an error, not attempted.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
            || self.iterations == 0
            || self.parallelism == 0
        {
            return Err(format!(
                "key derivation costs out of bounds ({} KiB, {} passes, {} lanes)",
                self.memory_kib, self.iterations, self.parallelism
            ));
        }
        Ok(())
    }
}

/// What `keys.bin` holds. Nothing in it is secret.
#[derive(Serialize, Deserialize)]
pub(crate) enum Envelope {
    Passphrase {
        params: KdfParams,
        salt: [u8; 16],
        wrapped: Vec<u8>,
    },
    KeyFile,
}

impl Envelope {
    /// The Argon2id costs the passphrase is hashed with, if there is one.
    pub(crate) fn params(&self) -> Option<KdfParams> {
        match self {
            Envelope::Passphrase { params, .. } => Some(*params),
            Envelope::KeyFile => None,
        }
    }

    pub(crate) fn protection(&self) -> KeyProtection {
        match self {
            Envelope::Passphrase { .. } => KeyProtection::Passphrase,
            Envelope::KeyFile => KeyProtection::KeyFile,
        }
    }
}

/// What the wrapped key (or the key file) holds: the data key in use, which
/// generation of the database it opens, and the key that is to replace it at the
/// next open, once a passphrase change asked for that (`Store::open` re-keys).
///
/// Written as 32 bytes while it is generation 0 with nothing pending (as every
/// profile before key rotation was), else as postcard: never 32 bytes long.
pub(crate) struct DataKeys {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) generation: u32,
    pub(crate) next: Option<Zeroizing<[u8; 32]>>,
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    key: [u8; 32],
    generation: u32,
    next: Option<[u8; 32]>,
}

impl DataKeys {
    pub(crate) fn new(key: Zeroizing<[u8; 32]>) -> DataKeys {
        DataKeys {
            key,
            generation: 0,
            next: None,
        }
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        if self.generation == 0 && self.next.is_none() {
            return Zeroizing::new(self.key.to_vec());
        }
        let record = Zeroizing::new(KeyRecord {
            key: *self.key,
            generation: self.generation,
            next: self.next.as_ref().map(|k| **k),
        });
        Zeroizing::new(postcard::to_allocvec(&*record).unwrap_or_default())
    }

    fn decode(bytes: &[u8]) -> Option<DataKeys> {
        if let Some(key) = to_key(bytes) {
            return Some(DataKeys::new(key));
        }
        let record: KeyRecord = postcard::from_bytes(bytes).ok()?;
        let record = Zeroizing::new(record);
        Some(DataKeys {
            key: Zeroizing::new(record.key),
            generation: record.generation,
            next: record.next.map(Zeroizing::new),
        })
    }
}

impl zeroize::Zeroize for KeyRecord {
    fn zeroize(&mut self) {
        self.key.zeroize();
        self.next.zeroize();
    }
}

pub(crate) fn new_data_key() -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(key.as_mut());
    key
}

pub(crate) fn wrapping_key(
    passphrase: &str,
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| e.to_string())?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Stores `data_key` in `dir`, protected by `passphrase` or, without one, in the key
/// file. Writes the new envelope atomically, then removes a key file that is no longer
/// needed, so a crash in between leaves a profile that still opens.
pub(crate) fn protect(
    dir: &Path,
    keys: &DataKeys,
    passphrase: Option<&str>,
    params: KdfParams,
) -> Result<(), OpenError> {
    let envelope = match passphrase {
        Some(passphrase) => {
            let mut salt = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut salt);
            let kek =
                wrapping_key(passphrase, &salt, params).map_err(|reason| OpenError::BadKey {
                    path: dir.join(ENVELOPE_FILE),
                    reason,
                })?;
            let wrapped = Cipher::new(&kek).seal(WRAP_AAD, &keys.encode());
            Envelope::Passphrase {
                params,
                salt,
                wrapped,
            }
        }
        None => {
            write_atomic(&dir.join(KEY_FILE), &keys.encode())?;
            Envelope::KeyFile
        }
    };
    write_atomic(
        &dir.join(ENVELOPE_FILE),
        &hearth_core::wire::encode(&envelope),
    )?;
    if passphrase.is_some() {
        let key_file = dir.join(KEY_FILE);
        match fs::remove_file(&key_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(OpenError::Io {
                    path: key_file,
                    source,
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn read_envelope(dir: &Path) -> Result<Envelope, OpenError> {
    let path = dir.join(ENVELOPE_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::NoProfile {
                path: dir.to_path_buf(),
            });
        }
        Err(source) => return Err(OpenError::Io { path, source }),
    };
    let envelope: Envelope =
        hearth_core::wire::decode(&bytes, MAX_ENVELOPE_BYTES).map_err(|e| OpenError::BadKey {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if let Envelope::Passphrase { params, .. } = &envelope {
        params
            .check()
            .map_err(|reason| OpenError::BadKey { path, reason })?;
    }
    Ok(envelope)
}

/// Recovers the data key, or says why not without touching anything.
pub(crate) fn unlock(
    dir: &Path,
    envelope: &Envelope,
    passphrase: Option<&str>,
) -> Result<DataKeys, OpenError> {
    match envelope {
        Envelope::Passphrase {
            params,
            salt,
            wrapped,
        } => {
            let passphrase = passphrase.ok_or(OpenError::PassphraseRequired)?;
            let kek =
                wrapping_key(passphrase, salt, *params).map_err(|reason| OpenError::BadKey {
                    path: dir.join(ENVELOPE_FILE),
                    reason,
                })?;
            let plain = Cipher::new(&kek)
                .open(WRAP_AAD, wrapped)
                .ok_or(OpenError::WrongPassphrase)?;
            DataKeys::decode(&plain).ok_or_else(|| OpenError::BadKey {
                path: dir.join(ENVELOPE_FILE),
                reason: "the wrapped key does not read".into(),
            })
        }
        Envelope::KeyFile => {
            let path = dir.join(KEY_FILE);
            let bytes = Zeroizing::new(fs::read(&path).map_err(|e| OpenError::BadKey {
                path: path.clone(),
                reason: e.to_string(),
            })?);
            DataKeys::decode(&bytes).ok_or_else(|| OpenError::BadKey {
                path,
                reason: "not a data key".into(),
            })
        }
    }
}

fn to_key(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let array: [u8; 32] = bytes.try_into().ok()?;
    Some(Zeroizing::new(array))
}

/// Writes a small file so that a crash leaves either the old or the new contents:
/// a temporary file, fsync, rename, fsync of the directory. Mode 0600 on Unix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp: PathBuf = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}
