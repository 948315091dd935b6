//! The disk of a mailbox (`hearth mailbox`): letters kept for the couple's devices
//! until each device has collected them, and who the mailbox lets in.
//!
//! Letters arrive sealed by one partner's device for the other's; the mailbox can
//! read none of them, so it stores them as they are. What it stores besides is
//! its own: the devices that joined, its invite and its network identity. Nothing
//! here is the couple's content, so there is no passphrase to type on a machine
//! left on in a cupboard.
//!
//! Layout, one sled tree: `L` + recipient (32 bytes) + number (u64, big-endian) →
//! the sealed letter; `N` + recipient → the last number given; `B` + recipient →
//! bytes held; `m/…` → the mailbox's settings. A deposit of several letters is one
//! atomic batch, flushed before the depositor is told.

use std::fs::File;
use std::path::Path;

use hearth_core::DeviceId;
use hearth_core::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;
use crate::error::OpenError;

const LETTER: u8 = b'L';
const NUMBER: u8 = b'N';
const BYTES: u8 = b'B';
const COUNT: u8 = b'C';
const MAX_SETTING_BYTES: usize = 64 * 1024;

/// Letters numbered, oldest first, as [`MailboxStore::letters_after`] gives them.
pub type Numbered = Vec<(u64, Vec<u8>)>;

/// A mailbox's database. Cheap to clone; every clone is the same database.
#[derive(Clone)]
pub struct MailboxStore {
    tree: sled::Tree,
    db: sled::Db,
    /// Deposits and acknowledgements read a counter and write it back: one at a
    /// time, whatever the number of devices connected.
    writing: std::sync::Arc<std::sync::Mutex<()>>,
    _lock: std::sync::Arc<File>,
}

impl std::fmt::Debug for MailboxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxStore").finish_non_exhaustive()
    }
}

fn key(prefix: u8, to: DeviceId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = prefix;
    key[1..].copy_from_slice(&to.0);
    key
}

fn letter_key(to: DeviceId, number: u64) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[..33].copy_from_slice(&self::key(LETTER, to));
    key[33..].copy_from_slice(&number.to_be_bytes());
    key
}

fn read_u64(value: Option<sled::IVec>) -> u64 {
    value
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes)
}

impl MailboxStore {
    /// Opens the mailbox in `dir`, creating it (mode 0700) on first start. Fails
    /// with [`OpenError::Locked`] while another process has it open.
    pub fn open(dir: &Path) -> Result<MailboxStore, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        crate::store::make_private(dir)?;
        let lock = crate::store::lock(dir)?;
        let (db, tree) = crate::store::open_db(dir, 0)?;
        Ok(MailboxStore {
            tree,
            db,
            writing: std::sync::Arc::default(),
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// Keeps `letters` for device `to`, after those already kept, in one atomic and
    /// durable write, unless that would hold more than `quota` bytes for it.
    /// Returns the number of the last one.
    pub fn deposit(
        &self,
        to: DeviceId,
        letters: &[impl AsRef<[u8]>],
        quota: u64,
    ) -> Result<u64, MailboxError> {
        let _one_at_a_time = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let number = read_u64(self.tree.get(key(NUMBER, to))?);
        let held = read_u64(self.tree.get(key(BYTES, to))?);
        let count = read_u64(self.tree.get(key(COUNT, to))?);
        let adding: u64 = letters.iter().map(|l| l.as_ref().len() as u64).sum();
        if held.saturating_add(adding) > quota {
            return Err(MailboxError::Full);
        }
        let mut batch = sled::Batch::default();
        let mut last = number;
        for letter in letters {
            last += 1;
            batch.insert(&letter_key(to, last)[..], letter.as_ref());
        }
        batch.insert(&key(NUMBER, to)[..], &last.to_be_bytes()[..]);
        batch.insert(&key(BYTES, to)[..], &(held + adding).to_be_bytes()[..]);
        let count = count + letters.len() as u64;
        batch.insert(&key(COUNT, to)[..], &count.to_be_bytes()[..]);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(last)
    }

    /// The letters for `to` numbered after `after`, oldest first, as many as fit in
    /// `max_bytes` (at least one), and whether more wait beyond them.
    pub fn letters_after(
        &self,
        to: DeviceId,
        after: u64,
        max_bytes: usize,
    ) -> Result<(Numbered, bool), MailboxError> {
        let start = letter_key(to, after.saturating_add(1));
        let end = letter_key(to, u64::MAX);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for entry in self.tree.range(start..=end) {
            let (k, v) = entry?;
            if !out.is_empty() && (bytes + v.len() > max_bytes || out.len() >= wire::MAX_LETTERS) {
                return Ok((out, true));
            }
            let number = <[u8; 8]>::try_from(&k[33..])
                .map(u64::from_be_bytes)
                .map_err(|_| MailboxError::Database("a letter's key is damaged".into()))?;
            bytes += v.len();
            out.push((number, v.to_vec()));
        }
        Ok((out, false))
    }

    /// Forgets the letters for `to` numbered up to `up_to`: it has stored them.
    /// Returns how many went.
    pub fn acknowledge(&self, to: DeviceId, up_to: u64) -> Result<usize, MailboxError> {
        let _one_at_a_time = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let start = letter_key(to, 0);
        let end = letter_key(to, up_to);
        let mut batch = sled::Batch::default();
        let mut freed = 0u64;
        let mut count = 0;
        for entry in self.tree.range(start..=end) {
            let (k, v) = entry?;
            freed += v.len() as u64;
            count += 1;
            batch.remove(k);
        }
        if count == 0 {
            return Ok(0);
        }
        let held = read_u64(self.tree.get(key(BYTES, to))?);
        batch.insert(
            &key(BYTES, to)[..],
            &held.saturating_sub(freed).to_be_bytes()[..],
        );
        let left = read_u64(self.tree.get(key(COUNT, to))?).saturating_sub(count as u64);
        batch.insert(&key(COUNT, to)[..], &left.to_be_bytes()[..]);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(count)
    }

    /// How many letters, and how many bytes of them, wait for `to`.
    pub fn waiting(&self, to: DeviceId) -> Result<(u64, u64), MailboxError> {
        Ok((
            read_u64(self.tree.get(key(COUNT, to))?),
            read_u64(self.tree.get(key(BYTES, to))?),
        ))
    }

    /// Forgets every letter kept for `to`: it left the mailbox.
    pub fn forget(&self, to: DeviceId) -> Result<(), MailboxError> {
        self.acknowledge(to, u64::MAX)?;
        Ok(())
    }

    /// How many letters, and how many bytes of them, the mailbox holds for every
    /// device together.
    pub fn held(&self) -> Result<(u64, u64), MailboxError> {
        let mut count = 0;
        let mut bytes = 0;
        for entry in self.tree.scan_prefix([LETTER]) {
            let (_, value) = entry?;
            count += 1;
            bytes += value.len() as u64;
        }
        Ok((count, bytes))
    }

    /// Makes everything written durable.
    pub fn flush(&self) -> Result<(), MailboxError> {
        self.db.flush()?;
        Ok(())
    }

    /// A setting of the mailbox's own, if set.
    pub fn setting<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, MailboxError> {
        let Some(value) = self.tree.get(format!("m/{name}"))? else {
            return Ok(None);
        };
        wire::decode(&value, MAX_SETTING_BYTES)
            .map(Some)
            .map_err(|_| MailboxError::Database(format!("the setting {name} is damaged")))
    }

    /// Sets a setting of the mailbox's own, durably.
    pub fn set_setting<T: Serialize>(&self, name: &str, value: &T) -> Result<(), MailboxError> {
        self.tree.insert(format!("m/{name}"), wire::encode(value))?;
        self.db.flush()?;
        Ok(())
    }
}

/// Why a mailbox could not keep or give letters.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// Keeping them would go over what the mailbox holds for one device.
    #[error("the mailbox holds as much as it may for that device")]
    Full,
    /// sled reported an error (disk full, I/O).
    #[error("mailbox database error: {0}")]
    Database(String),
}

impl From<sled::Error> for MailboxError {
    fn from(e: sled::Error) -> MailboxError {
        MailboxError::Database(e.to_string())
    }
}

impl From<MailboxError> for StoreError {
    fn from(e: MailboxError) -> StoreError {
        StoreError::Database(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_kept_in_order_per_device_and_go_once_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = MailboxStore::open(dir.path()).unwrap();
        let (arta, ben) = (DeviceId([1; 32]), DeviceId([2; 32]));
        assert_eq!(
            store
                .deposit(ben, &[b"one".to_vec(), b"two".to_vec()], 1 << 20)
                .unwrap(),
            2
        );
        assert_eq!(store.deposit(ben, &[b"three"], 1 << 20).unwrap(), 3);
        assert_eq!(store.deposit(arta, &[b"for arta"], 1 << 20).unwrap(), 1);
        let (letters, more) = store.letters_after(ben, 0, 1 << 20).unwrap();
        assert!(!more);
        let bodies: Vec<&[u8]> = letters.iter().map(|(_, l)| l.as_slice()).collect();
        assert_eq!(bodies, [&b"one"[..], b"two", b"three"]);
        assert_eq!(
            letters.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // At least one per answer, however small the room.
        let (first, more) = store.letters_after(ben, 0, 1).unwrap();
        assert_eq!((first.len(), more), (1, true));

        assert_eq!(store.acknowledge(ben, 2).unwrap(), 2);
        assert_eq!(store.waiting(ben).unwrap(), (1, 5));
        assert_eq!(store.letters_after(ben, 0, 1 << 20).unwrap().0[0].0, 3);
        // Numbers keep rising after an acknowledgement and a reopen.
        drop(store);
        let store = MailboxStore::open(dir.path()).unwrap();
        assert_eq!(store.deposit(ben, &[b"four"], 1 << 20).unwrap(), 4);
        assert_eq!(store.acknowledge(ben, 4).unwrap(), 2);
        assert_eq!(store.waiting(ben).unwrap(), (0, 0));
        assert_eq!(store.waiting(arta).unwrap(), (1, 8));
        assert_eq!(store.held().unwrap(), (1, 8));
    }

    #[test]
    fn a_deposit_over_the_quota_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = MailboxStore::open(dir.path()).unwrap();
        let ben = DeviceId([2; 32]);
        store.deposit(ben, &[vec![0u8; 600]], 1000).unwrap();
        assert!(matches!(
            store.deposit(ben, &[vec![0u8; 300], vec![0u8; 300]], 1000),
            Err(MailboxError::Full)
        ));
        assert_eq!(store.waiting(ben).unwrap(), (1, 600));
        store.acknowledge(ben, 1).unwrap();
        store
            .deposit(ben, &[vec![0u8; 300], vec![0u8; 300]], 1000)
            .unwrap();
    }
}
