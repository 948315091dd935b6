//! The store itself: one sled tree, logical trees by key prefix, every value sealed.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use hearth_core::wire;
use hearth_core::{
    DeviceId, Lamport, Message, MessageState, Op, OpBody, OpId, TimelinePos, is_reaction_emoji,
    limits,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::cipher::Cipher;
use crate::error::{OpenError, StoreError};
use crate::keys::{self, DataKeys, KdfParams, KeyProtection};
use crate::rekey;

/// The newest schema this build reads and the one it writes. 2: attachment files
/// have a header holding half their key; a build that reads only 1 would read
/// those files wrong, so it is told the profile is newer instead.
pub const SCHEMA_VERSION: u32 = 2;

const LOCK_FILE: &str = "hearth.lock";
const DB_DIR: &str = "db";
const LOCK_ATTEMPTS: u32 = 10;
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(25);
/// Waits for sled's own lock (2 s): only a closing store of this process holds it.
const SLED_LOCK_ATTEMPTS: u32 = 80;
/// Enough cache to page through a long history without holding it all in memory.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;
const MAX_SETTING_BYTES: usize = 1024 * 1024;

/// Logical trees. All live in one sled tree so that one `Batch` writes an op, its
/// indexes and its watermark atomically. The prefix is part of every value's
/// associated data, so a value cannot be moved to another tree or key.
mod prefix {
    /// author index, seq → op
    pub(super) const OPS: u8 = b'o';
    /// lamport, author rank, author index, seq → nothing: the display order of
    /// messages. The rank is the author's place among known devices in device-id
    /// order, so ties in Lamport time break the same way on both devices (the index
    /// is first-seen order, which differs between them).
    pub(super) const TIMELINE: u8 = b't';
    /// author index, seq → the message's folded state
    pub(super) const STATE: u8 = b's';
    /// author index → highest contiguous seq held
    pub(super) const HELD: u8 = b'w';
    /// author index → highest seq the partner has durably acknowledged
    pub(super) const ACKED: u8 = b'a';
    /// author index → highest seq of that author's log the other partner has read
    pub(super) const READ: u8 = b'r';
    /// index → device id. Keys hold small indexes, not device ids, so the disk does
    /// not show whose keys these are.
    pub(super) const DEVICE: u8 = b'd';
    /// name → setting
    pub(super) const SETTING: u8 = b'c';
    /// Like the timeline, for attachments that are neither view-once nor expiring:
    /// the index behind Memories.
    pub(super) const GALLERY: u8 = b'g';
    /// author index → the Lamport time of that author's newest op with effect
    pub(super) const LAST_LAMPORT: u8 = b'l';
    /// author index, message seq, op seq → nothing: the author's edits and
    /// file-ready ops about a message, so erasing it reads only those. (Shows which
    /// messages were edited, as `STATE` keys show which have a state.)
    pub(super) const ABOUT: u8 = b'e';
    /// author index, seq → the Lamport time a message sent for later was shown at
    /// here: its place in the timeline from then, after all this device held.
    pub(super) const SHOWN: u8 = b'v';
}

/// The most devices a store records. A couple has two today; more (a second
/// device, a mailbox) come with the roster. Only an op's author makes a device
/// known, never an id an op merely names.
const MAX_DEVICES: usize = 16;
const SCHEMA_KEY: &[u8] = b"m/schema";
const CHECK_KEY: &[u8] = b"m/check";
const LAMPORT_KEY: &[u8] = b"m/lamport";
/// Present once every op's `ABOUT` entry is written (profiles made before the index
/// get theirs when they are first opened).
const ABOUT_INDEXED_KEY: &[u8] = b"m/about-indexed";
const CHECK_VALUE: &[u8] = b"hearth";

/// What [`Store::apply_remote`] stored.
#[derive(Debug, Default)]
pub struct Applied {
    /// The ops that were new and took effect, in the order they came; duplicates
    /// are left out.
    pub new: Vec<Op>,
    /// New ops that break a bound (see [`Store::apply_remote`]): kept in their
    /// author's log, so it stays whole and is acknowledged, but with no effect
    /// here. Each with why.
    pub ignored: Vec<(OpId, &'static str)>,
}

/// Reads ops from another thread: the database handle, the key and the device
/// index as they were.
pub(crate) struct OpsReader {
    tree: sled::Tree,
    cipher: Cipher,
    index: HashMap<DeviceId, u16>,
}

impl OpsReader {
    pub(crate) fn ops_after(
        &self,
        author: DeviceId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Op>, StoreError> {
        read_ops(&self.tree, &self.cipher, &self.index, author, after, limit)
    }
}

/// Up to `limit` ops of `author`'s log after seq `after`, in order: what
/// [`Store::ops_after`] and a backup's [`OpsReader`] both read.
fn read_ops(
    tree: &sled::Tree,
    cipher: &Cipher,
    index: &HashMap<DeviceId, u16>,
    author: DeviceId,
    after: u64,
    limit: usize,
) -> Result<Vec<Op>, StoreError> {
    let Some(&idx) = index.get(&author) else {
        return Ok(Vec::new());
    };
    let start = op_key(prefix::OPS, idx, after.saturating_add(1));
    let end = op_key(prefix::OPS, idx, u64::MAX);
    tree.range(start..=end)
        .take(limit)
        .map(|entry| {
            let (key, value) = entry?;
            decode_op(cipher, &key, &value)
        })
        .collect()
}

/// An open profile. Holds the profile's lock until dropped.
pub struct Store {
    dir: PathBuf,
    pub(crate) db: sled::Db,
    tree: sled::Tree,
    cipher: Cipher,
    pub(crate) data_key: Zeroizing<[u8; 32]>,
    /// Which generation of the data key this is (see `rekey`).
    pub(crate) generation: u32,
    /// The key to replace it with at the next open, once asked for.
    next_key: Option<Zeroizing<[u8; 32]>>,
    protection: KeyProtection,
    devices: Vec<DeviceId>,
    index: HashMap<DeviceId, u16>,
    held: HashMap<u16, u64>,
    acked: HashMap<u16, u64>,
    read: HashMap<u16, u64>,
    last_lamport: HashMap<u16, u64>,
    lamport: Lamport,
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        dir.join(keys::ENVELOPE_FILE).exists()
    }

    /// How the profile in `dir` keeps its key, without opening it; `None` if there is
    /// no profile there. Lets a UI ask for a passphrase only when one is needed.
    pub fn protection_of(dir: &Path) -> Result<Option<KeyProtection>, OpenError> {
        match keys::read_envelope(dir) {
            Ok(envelope) => Ok(Some(envelope.protection())),
            Err(OpenError::NoProfile { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a new profile in `dir` (made if missing, mode 0700). With a passphrase,
    /// the data key is wrapped by it; without, it goes to the key file.
    pub fn create(dir: &Path, passphrase: Option<&str>) -> Result<Store, OpenError> {
        Store::create_with(dir, passphrase, KdfParams::default())
    }

    /// [`Store::create`] with chosen Argon2id costs.
    pub fn create_with(
        dir: &Path,
        passphrase: Option<&str>,
        params: KdfParams,
    ) -> Result<Store, OpenError> {
        let io = |source| OpenError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
        make_private(dir)?;
        let lock = lock(dir)?;
        if Store::exists(dir) || dir.join(DB_DIR).exists() {
            return Err(OpenError::AlreadyExists {
                path: dir.to_path_buf(),
            });
        }
        let data_key = keys::new_data_key();
        // The database first, the envelope last: until `keys.bin` exists the directory
        // is not a profile, so a crash here leaves nothing half-made to open.
        let (db, tree) = open_db(dir, 0)?;
        let cipher = Cipher::new(&data_key);
        let setup = || -> sled::Result<()> {
            tree.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            tree.insert(CHECK_KEY, cipher.seal(CHECK_KEY, CHECK_VALUE))?;
            tree.insert(ABOUT_INDEXED_KEY, &[][..])?;
            db.flush()?;
            Ok(())
        };
        setup().map_err(|e| OpenError::Unopenable {
            path: dir.join(DB_DIR),
            reason: e.to_string(),
        })?;
        let keys = DataKeys::new(data_key);
        keys::protect(dir, &keys, passphrase, params)?;
        let protection = if passphrase.is_some() {
            KeyProtection::Passphrase
        } else {
            KeyProtection::KeyFile
        };
        Store::assemble(dir, db, tree, keys, protection, lock)
    }

    /// Opens the profile in `dir`. A wrong or missing passphrase, a profile open
    /// elsewhere, a database sled refuses or a newer schema each give their own
    /// [`OpenError`], and none of them changes a byte on disk.
    ///
    /// After a passphrase change, this is where the data key is replaced: every
    /// value is sealed again under a new key, which then replaces the old one for
    /// good (`rekey`). A crash in the middle leaves a profile that opens, and the
    /// next open finishes the work.
    pub fn open(dir: &Path, passphrase: Option<&str>) -> Result<Store, OpenError> {
        let envelope = keys::read_envelope(dir)?;
        let lock = lock(dir)?;
        let mut keys = keys::unlock(dir, &envelope, passphrase)?;
        make_private(dir)?;
        let (db, mut tree) = open_db(dir, keys.generation)?;
        let unopenable = |reason: String| OpenError::Unopenable {
            path: dir.join(DB_DIR),
            reason,
        };
        let schema = tree
            .get(SCHEMA_KEY)
            .map_err(|e| unopenable(e.to_string()))?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| unopenable("it has no schema version".into()))?;
        if schema > SCHEMA_VERSION {
            return Err(OpenError::NewerSchema {
                found: schema,
                supported: SCHEMA_VERSION,
            });
        }
        let cipher = Cipher::new(&keys.key);
        let check = tree.get(CHECK_KEY).map_err(|e| unopenable(e.to_string()))?;
        if check
            .and_then(|v| cipher.open(CHECK_KEY, &v))
            .as_deref()
            .map(Vec::as_slice)
            != Some(CHECK_VALUE)
        {
            return Err(OpenError::BadKey {
                path: dir.join(keys::KEY_FILE),
                reason: "it does not open this database".into(),
            });
        }
        if keys.next.is_some() {
            // Failing to re-key (a full disk, say) must not lock the user out: the
            // profile opens as it is, and the next open tries again.
            match rekey::replace_key(dir, &db, &tree, &keys, &envelope, passphrase) {
                Ok((new_tree, new_keys)) => {
                    tree = new_tree;
                    keys = new_keys;
                    tracing::info!(generation = keys.generation, "the data key was replaced");
                }
                Err(rekey::ReplaceFailed::BeforeCommit(e)) => {
                    tracing::warn!(error = %e, "could not replace the data key yet; will try at the next start");
                }
                // The new key may or may not be on disk: writing on under either
                // key could lose what is written. The next open reads it back.
                Err(rekey::ReplaceFailed::AtCommit(e)) => return Err(e),
            }
        }
        if let Err(e) = rekey::drop_other_generations(dir, &db, &tree, keys.generation) {
            tracing::warn!(error = %e, "could not clear what an earlier data key left");
        }
        // Everything of schema 1 reads as it is; from here on this build may write
        // what only schema 2 reads.
        // (A full disk must not lock the user out: the next open tries again.)
        if schema < SCHEMA_VERSION
            && let Err(e) = tree
                .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                .and_then(|_| tree.flush())
        {
            tracing::warn!(error = %e, "could not mark the profile's schema");
        }
        Store::assemble(dir, db, tree, keys, envelope.protection(), lock)
    }

    fn assemble(
        dir: &Path,
        db: sled::Db,
        tree: sled::Tree,
        keys: DataKeys,
        protection: KeyProtection,
        lock: File,
    ) -> Result<Store, OpenError> {
        let mut store = Store {
            dir: dir.to_path_buf(),
            db,
            tree,
            cipher: Cipher::new(&keys.key),
            data_key: keys.key,
            generation: keys.generation,
            next_key: keys.next,
            protection,
            devices: Vec::new(),
            index: HashMap::new(),
            held: HashMap::new(),
            acked: HashMap::new(),
            read: HashMap::new(),
            last_lamport: HashMap::new(),
            lamport: Lamport(0),
            _lock: lock,
        };
        store.load_caches().map_err(|e| OpenError::Unopenable {
            path: dir.join(DB_DIR),
            reason: e.to_string(),
        })?;
        Ok(store)
    }

    fn load_caches(&mut self) -> Result<(), StoreError> {
        for entry in self.tree.scan_prefix([prefix::DEVICE]) {
            let (key, _) = entry?;
            let id: DeviceId = self
                .get_sealed(&key)?
                .ok_or(StoreError::Corrupt("device"))?;
            let idx = index_of(&key).ok_or(StoreError::Corrupt("device key"))?;
            if usize::from(idx) != self.devices.len() {
                return Err(StoreError::Corrupt("device numbering"));
            }
            self.devices.push(id);
            self.index.insert(id, idx);
        }
        for (p, map) in [
            (prefix::HELD, &mut self.held),
            (prefix::ACKED, &mut self.acked),
            (prefix::READ, &mut self.read),
            (prefix::LAST_LAMPORT, &mut self.last_lamport),
        ] {
            for entry in self.tree.scan_prefix([p]) {
                let (key, value) = entry?;
                let idx = index_of(&key).ok_or(StoreError::Corrupt("counter key"))?;
                let plain = self
                    .cipher
                    .open(&key, &value)
                    .ok_or(StoreError::Corrupt("counter"))?;
                let seq: u64 =
                    wire::decode(&plain, 64).map_err(|_| StoreError::Corrupt("counter"))?;
                map.insert(idx, seq);
            }
        }
        self.lamport = self.get_sealed(LAMPORT_KEY)?.unwrap_or_default();
        if self.tree.get(ABOUT_INDEXED_KEY)?.is_none() {
            self.index_about()?;
        }
        Ok(())
    }

    /// Writes the `ABOUT` entry of every op held: once, for a profile made before
    /// the index existed.
    fn index_about(&mut self) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self.tree.scan_prefix([prefix::OPS]) {
            let (key, value) = entry?;
            let op = self.decode_op(&key, &value)?;
            let idx = index_of(&key).ok_or(StoreError::Corrupt("op key"))?;
            if let Some(about) = about_key(&op, idx) {
                batch.insert(&about[..], &[][..]);
            }
        }
        batch.insert(ABOUT_INDEXED_KEY, &[][..]);
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The profile directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the data key is kept.
    pub fn key_protection(&self) -> KeyProtection {
        self.protection
    }

    /// Sets, changes or removes the passphrase, and asks for a new data key: the
    /// next [`Store::open`] seals everything under it and forgets this one, so an
    /// old copy of the key envelope and the old passphrase together no longer open
    /// the profile. (Not now: other threads may hold the key while the store is
    /// open.)
    pub fn change_passphrase(&mut self, new: Option<&str>) -> Result<(), StoreError> {
        let next = self.next_key.clone().unwrap_or_else(keys::new_data_key);
        let keys = DataKeys {
            key: self.data_key.clone(),
            generation: self.generation,
            next: Some(next.clone()),
        };
        keys::protect(&self.dir, &keys, new, KdfParams::default())?;
        self.next_key = Some(next);
        self.protection = if new.is_some() {
            KeyProtection::Passphrase
        } else {
            KeyProtection::KeyFile
        };
        Ok(())
    }

    /// Makes everything written so far durable. Call before acknowledging ops to the
    /// partner: an acknowledged op must survive a crash.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// The highest Lamport time seen in any op.
    pub fn lamport(&self) -> Lamport {
        self.lamport
    }

    /// Writes a new op by `author` (this device): the next seq of its log and a
    /// Lamport time after everything seen. Not durable until [`Store::flush`].
    pub fn append_local(
        &mut self,
        author: DeviceId,
        wall_ms: i64,
        body: OpBody,
    ) -> Result<Op, StoreError> {
        let mut ops = self.append_local_batch(author, wall_ms, vec![body])?;
        ops.pop().ok_or(StoreError::Invalid("empty batch"))
    }

    /// Writes several new ops by `author` at once, in one atomic write: either all of
    /// them are stored or none. Much cheaper per op than [`Store::append_local`], as
    /// the watermark and clock are written once. Not durable until [`Store::flush`].
    pub fn append_local_batch(
        &mut self,
        author: DeviceId,
        wall_ms: i64,
        bodies: Vec<OpBody>,
    ) -> Result<Vec<Op>, StoreError> {
        let mut lamport = self.lamport;
        let mut ops = Vec::with_capacity(bodies.len());
        for (seq, body) in (self.held(author) + 1..).zip(bodies) {
            body.validate()
                .map_err(|e| StoreError::Invalid(e.reason()))?;
            lamport = lamport.next();
            ops.push(Op {
                id: OpId { author, seq },
                lamport,
                wall_ms,
                body,
            });
        }
        let effects = vec![true; ops.len()];
        self.write_ops(&ops, &effects)?;
        Ok(ops)
    }

    /// Stores ops that came from the partner. Ops already held are skipped; an op that
    /// would leave a hole in its author's log rejects the whole batch, and nothing of
    /// it is stored. Not durable until [`Store::flush`].
    ///
    /// The partner's device is not trusted blindly. A new op that breaks a bound is
    /// stored in its author's log (so the log stays whole, is acknowledged, and is
    /// never sent again) but changes nothing else: no message, no edit, reaction or
    /// read marker, no tick of the clock. The bounds: Lamport times increase per
    /// author and run at most [`hearth_core::limits::MAX_LAMPORT_JUMP`] ahead of
    /// everything seen; every message an op names (its target, what it replies to,
    /// what it marks read) is one this store holds; read markers are for the other
    /// author's messages; only a file's author says it is ready; a reaction is one
    /// emoji.
    pub fn apply_remote(&mut self, ops: &[Op]) -> Result<Applied, StoreError> {
        let mut next: HashMap<DeviceId, u64> = HashMap::new();
        let mut new: Vec<Op> = Vec::new();
        for op in ops {
            op.body
                .validate()
                .map_err(|e| StoreError::Invalid(e.reason()))?;
            let expected = next
                .entry(op.id.author)
                .or_insert_with(|| self.held(op.id.author) + 1);
            if op.id.seq < *expected {
                continue;
            }
            if op.id.seq > *expected {
                return Err(StoreError::Gap {
                    author: op.id.author,
                    expected: *expected,
                    got: op.id.seq,
                });
            }
            *expected += 1;
            new.push(op.clone());
        }
        let mut clock = self.lamport.0;
        let mut last: HashMap<DeviceId, u64> = HashMap::new();
        let mut held: HashMap<DeviceId, u64> = HashMap::new();
        let mut effects = Vec::with_capacity(new.len());
        let mut ignored = Vec::new();
        for op in &new {
            let author = op.id.author;
            let prev = *last
                .entry(author)
                .or_insert_with(|| self.counter(&self.last_lamport, author));
            let held_now = |device: DeviceId| {
                held.get(&device)
                    .copied()
                    .unwrap_or_else(|| self.held(device))
            };
            let verdict = self.out_of_bounds(op, clock, prev, held_now);
            if let Some(why) = verdict {
                ignored.push((op.id, why));
            } else {
                clock = clock.max(op.lamport.0);
                last.insert(author, op.lamport.0);
            }
            held.insert(author, op.id.seq);
            effects.push(verdict.is_none());
        }
        self.write_ops(&new, &effects)?;
        let new = new
            .into_iter()
            .zip(effects)
            .filter_map(|(op, effect)| effect.then_some(op))
            .collect();
        Ok(Applied { new, ignored })
    }

    /// Which bound a partner's op breaks, if any (see [`Store::apply_remote`]).
    /// `clock` is the highest Lamport time seen so far, `prev` that of the author's
    /// newest op with effect, `held` the highest seq held of a device's log.
    fn out_of_bounds(
        &self,
        op: &Op,
        clock: u64,
        prev: u64,
        held: impl Fn(DeviceId) -> u64,
    ) -> Option<&'static str> {
        let lamport = op.lamport.0;
        if lamport <= prev {
            return Some("its Lamport time does not increase");
        }
        if lamport > clock.max(prev).saturating_add(limits::MAX_LAMPORT_JUMP) {
            return Some("its Lamport time is too far ahead");
        }
        let named = match &op.body {
            OpBody::Text { reply_to, .. } | OpBody::Scheduled { reply_to, .. } => *reply_to,
            OpBody::ReadMarker { up_to } => Some(*up_to),
            body => body.target(),
        };
        if let Some(id) = named {
            // A device is known once it wrote an op here, earlier in this very
            // batch included (a restore applies both logs interleaved).
            let known = id.author == op.id.author || held(id.author) > 0;
            let held_there = if id.author == op.id.author {
                op.id.seq - 1
            } else {
                held(id.author)
            };
            if !known || id.seq == 0 || id.seq > held_there {
                return Some("it names a message this device does not hold");
            }
        }
        match &op.body {
            OpBody::ReadMarker { up_to } if up_to.author == op.id.author => {
                Some("it marks its author's own messages read")
            }
            OpBody::FileReady { target, .. } if target.author != op.id.author => {
                Some("it readies someone else's file")
            }
            OpBody::ReactionAdd { emoji, .. } | OpBody::ReactionRemove { emoji, .. }
                if !is_reaction_emoji(emoji) =>
            {
                Some("its reaction is not one emoji")
            }
            _ => None,
        }
    }

    /// Writes ops in one batch. An op whose `effects` entry is false is kept in its
    /// author's log and nothing more.
    fn write_ops(&mut self, ops: &[Op], effects: &[bool]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let mut states: HashMap<OpId, MessageState> = HashMap::new();
        let mut held = HashMap::new();
        let mut read = HashMap::new();
        let mut last_lamport = HashMap::new();
        let mut newly_deleted = Vec::new();
        let mut lamport = self.lamport;
        for (op, &effect) in ops.iter().zip(effects) {
            let idx = self.device_index(op.id.author)?;
            let key = op_key(prefix::OPS, idx, op.id.seq);
            // An edit or a file's hashes for a message already deleted is kept only
            // as its tombstone: deleted stays gone, whatever comes after.
            let late = match &op.body {
                OpBody::Edit { target, .. } | OpBody::FileReady { target, .. } => {
                    match states.get(target) {
                        Some(state) => state.is_deleted(),
                        None => self.state(*target)?.is_deleted(),
                    }
                }
                _ => false,
            };
            let stored = match op.body.erased().filter(|_| late) {
                Some(body) => &Op { body, ..op.clone() },
                None => op,
            };
            batch.insert(&key[..], self.cipher.seal(&key, &wire::encode_op(stored)));
            if let Some(about) = about_key(op, idx) {
                batch.insert(&about[..], &[][..]);
            }
            held.insert(idx, op.id.seq);
            if !effect {
                continue;
            }
            if op.body.is_message() {
                let rank = self.rank(idx);
                batch.insert(&timeline_key(op.lamport, rank, idx, op.id.seq)[..], &[][..]);
                if let OpBody::Attachment(a) = &op.body
                    && !a.is_ephemeral()
                {
                    let mut key = timeline_key(op.lamport, rank, idx, op.id.seq);
                    key[0] = prefix::GALLERY;
                    batch.insert(&key[..], &[][..]);
                }
            }
            if let Some(target) = op.body.target()
                && self.index.contains_key(&target.author)
            {
                let state = match states.remove(&target) {
                    Some(state) => state,
                    None => self.state(target)?,
                };
                let mut state = state;
                let was_deleted = state.is_deleted();
                state.apply(target, op);
                if state.is_deleted() && !was_deleted {
                    newly_deleted.push(target);
                }
                states.insert(target, state);
            }
            if let OpBody::ReadMarker { up_to } = &op.body
                && let Some(&reader_of) = self.index.get(&up_to.author)
            {
                let current = read
                    .get(&reader_of)
                    .copied()
                    .unwrap_or_else(|| self.read.get(&reader_of).copied().unwrap_or(0));
                read.insert(reader_of, current.max(up_to.seq));
            }
            last_lamport.insert(idx, op.lamport.0);
            lamport = lamport.max(op.lamport);
        }
        for (target, state) in &states {
            let Some(&idx) = self.index.get(&target.author) else {
                continue;
            };
            let encoded = wire::encode(state);
            if encoded.len() > limits::MAX_STATE_BYTES {
                // Cannot happen with the bounds of MessageState; should it, the
                // message keeps its earlier state rather than one that will not load.
                tracing::warn!(
                    bytes = encoded.len(),
                    "a message's state outgrew its bound; kept the earlier one"
                );
                continue;
            }
            let key = op_key(prefix::STATE, idx, target.seq);
            batch.insert(&key[..], self.cipher.seal(&key, &encoded));
        }
        for (p, map) in [
            (prefix::HELD, &held),
            (prefix::READ, &read),
            (prefix::LAST_LAMPORT, &last_lamport),
        ] {
            for (&idx, &seq) in map {
                let key = counter_key(p, idx);
                batch.insert(&key[..], self.cipher.seal(&key, &wire::encode(&seq)));
            }
        }
        batch.insert(
            LAMPORT_KEY,
            self.cipher.seal(LAMPORT_KEY, &wire::encode(&lamport)),
        );
        // Deleted is gone: what a message deleted by this batch said is erased in
        // the same atomic write.
        for target in &newly_deleted {
            self.erasures(*target, ops, &mut batch)?;
        }
        self.tree.apply_batch(batch)?;
        self.held.extend(held);
        self.read.extend(read);
        self.last_lamport.extend(last_lamport);
        self.lamport = lamport;
        Ok(())
    }

    /// The small index that stands for `device` in keys, made on first sight.
    ///
    /// A new device can change the rank of those already known; their timeline
    /// entries are then re-keyed in the same atomic write that records the device,
    /// so the timeline is in device-id order at every moment.
    fn device_index(&mut self, device: DeviceId) -> Result<u16, StoreError> {
        if let Some(&idx) = self.index.get(&device) {
            return Ok(idx);
        }
        if self.devices.len() >= MAX_DEVICES {
            return Err(StoreError::Invalid("too many devices"));
        }
        let idx = u16::try_from(self.devices.len())
            .map_err(|_| StoreError::Invalid("too many devices"))?;
        let old_ranks: Vec<u16> = (0..idx).map(|i| self.rank(i)).collect();
        let mut batch = sled::Batch::default();
        let key = counter_key(prefix::DEVICE, idx);
        batch.insert(&key[..], self.cipher.seal(&key, &wire::encode(&device)));
        self.devices.push(device);
        let moved: Vec<u16> = (0..idx)
            .filter(|&i| self.rank(i) != old_ranks[usize::from(i)])
            .collect();
        if !moved.is_empty() {
            for p in [prefix::TIMELINE, prefix::GALLERY] {
                for entry in self.tree.scan_prefix([p]) {
                    let (old_key, _) = entry?;
                    let (lamport, entry_idx, seq) =
                        parse_timeline_key(&old_key).ok_or(StoreError::Corrupt("timeline key"))?;
                    if moved.contains(&entry_idx) {
                        batch.remove(old_key);
                        let rank = self.rank(entry_idx);
                        let mut key = timeline_key(lamport, rank, entry_idx, seq);
                        key[0] = p;
                        batch.insert(&key[..], &[][..]);
                    }
                }
            }
        }
        if let Err(e) = self.tree.apply_batch(batch) {
            self.devices.pop();
            return Err(e.into());
        }
        self.index.insert(device, idx);
        Ok(idx)
    }

    /// The place of device `idx` among known devices in device-id order.
    fn rank(&self, idx: u16) -> u16 {
        let Some(device) = self.devices.get(usize::from(idx)) else {
            return 0;
        };
        // At most a handful of devices: counting beats keeping a sorted copy.
        self.devices.iter().filter(|d| *d < device).count() as u16
    }

    /// The highest seq of `author`'s log held here, with no gap below it (0: none).
    pub fn held(&self, author: DeviceId) -> u64 {
        self.counter(&self.held, author)
    }

    /// For every author with ops here, the highest contiguous seq held.
    pub fn held_all(&self) -> Vec<(DeviceId, u64)> {
        self.devices
            .iter()
            .map(|&d| (d, self.held(d)))
            .filter(|&(_, seq)| seq > 0)
            .collect()
    }

    /// The highest seq of `author`'s log the partner has acknowledged storing.
    pub fn acked(&self, author: DeviceId) -> u64 {
        self.counter(&self.acked, author)
    }

    /// Records the partner's acknowledgement of `author`'s log up to `up_to`. Never
    /// moves backwards. Losing this on a crash only means re-sending ops the partner
    /// skips as duplicates, so it is not flushed by itself.
    pub fn set_acked(&mut self, author: DeviceId, up_to: u64) -> Result<(), StoreError> {
        if up_to <= self.acked(author) {
            return Ok(());
        }
        let idx = self.device_index(author)?;
        let key = counter_key(prefix::ACKED, idx);
        self.tree
            .insert(&key[..], self.cipher.seal(&key, &wire::encode(&up_to)))?;
        self.acked.insert(idx, up_to);
        Ok(())
    }

    /// The highest seq of `author`'s log that the other partner has marked read.
    pub fn read_up_to(&self, author: DeviceId) -> u64 {
        self.counter(&self.read, author)
    }

    fn counter(&self, map: &HashMap<u16, u64>, author: DeviceId) -> u64 {
        self.index
            .get(&author)
            .and_then(|idx| map.get(idx))
            .copied()
            .unwrap_or(0)
    }

    /// Up to `limit` ops of `author`'s log after seq `after`, in order.
    pub fn ops_after(
        &self,
        author: DeviceId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Op>, StoreError> {
        read_ops(&self.tree, &self.cipher, &self.index, author, after, limit)
    }

    /// Forgets everything the couple shared: both logs, the timeline, message
    /// states, counters, the devices known, the settings named in `also_settings`
    /// (the partner, say), and every attachment file with its key. Keeps this
    /// device's own settings and keys (identity, profile, preferences). For ending a
    /// pairing: a later partner must start from nothing. One atomic write, then the
    /// files, so a crash never leaves a device still paired with an empty log.
    pub fn forget_history(&mut self, also_settings: &[&str]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for name in also_settings {
            batch.remove(setting_key(name));
        }
        for p in [
            prefix::OPS,
            prefix::TIMELINE,
            prefix::STATE,
            prefix::HELD,
            prefix::ACKED,
            prefix::READ,
            prefix::DEVICE,
            prefix::GALLERY,
            prefix::LAST_LAMPORT,
            prefix::ABOUT,
            prefix::SHOWN,
        ]
        .into_iter()
        .chain(crate::blobs::RECORD_PREFIXES)
        {
            for entry in self.tree.scan_prefix([p]) {
                let (key, _) = entry?;
                batch.remove(key);
            }
        }
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        self.devices.clear();
        self.index.clear();
        self.held.clear();
        self.acked.clear();
        self.read.clear();
        self.last_lamport.clear();
        // The files after the atomic write, their headers wiped as they go. A crash
        // or a failure in between leaves files no record names, which the next
        // start's sweep wipes and removes.
        if let Err(e) = self.blobs().remove_files() {
            tracing::warn!(error = %e, "could not remove every file; the next start will");
        }
        Ok(())
    }

    /// Whether any value the profile holds now contains `needle` once decrypted:
    /// how tests check that erased content is gone. Reads every value; not for the
    /// app.
    #[doc(hidden)]
    pub fn holds_plaintext(&self, needle: &[u8]) -> Result<bool, StoreError> {
        let found = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            let plain = self.cipher.open(&key, &value);
            if found(&key) || found(&value) || plain.is_some_and(|p| found(&p)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Erases message `id`: its op, and every edit and file-ready op its author wrote
    /// about it, are replaced by their tombstones ([`OpBody::Erased`]), in one atomic
    /// write. What stays is what sync and the timeline need: ids, Lamport and wall
    /// times, kinds, and the message's folded state (deleted, when opened,
    /// reactions). Done by the store itself when a delete takes effect; the engine
    /// calls it when a view-once or expiring file is gone. Walks the author's log
    /// after the message, decrypting each op: a cost paid once per erasure.
    ///
    /// sled writes new values beside old ones and reclaims the old space later, so
    /// until then the old ciphertext may remain in its files, sealed under the data
    /// key.
    pub fn erase(&mut self, id: OpId) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        self.erasures(id, &[], &mut batch)?;
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Adds to `batch` the tombstones that erase message `id`: its op and its
    /// author's edit and file-ready ops about it, whether stored already or among
    /// `pending` (ops going into the same batch, which overwrite nothing after this).
    fn erasures(
        &self,
        id: OpId,
        pending: &[Op],
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        let Some(&idx) = self.index.get(&id.author) else {
            return Ok(());
        };
        let mut erase = |op: &Op| {
            if let Some(body) = op.body.erased() {
                let key = op_key(prefix::OPS, idx, op.id.seq);
                let tombstone = Op { body, ..op.clone() };
                batch.insert(
                    &key[..],
                    self.cipher.seal(&key, &wire::encode_op(&tombstone)),
                );
            }
        };
        let about = |op: &Op| {
            op.id == id
                || op.id.author == id.author
                    && matches!(
                        &op.body,
                        OpBody::Edit { target, .. } | OpBody::FileReady { target, .. } if *target == id
                    )
        };
        match self.op(id)? {
            Some(op) if !op.body.is_message() => return Ok(()),
            Some(op) => erase(&op),
            None => {}
        }
        for entry in self.tree.scan_prefix(op_key(prefix::ABOUT, idx, id.seq)) {
            let (key, _) = entry?;
            let seq = key
                .get(11..19)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(StoreError::Corrupt("about key"))?;
            let key = op_key(prefix::OPS, idx, seq);
            if let Some(value) = self.tree.get(key)? {
                let later = self.decode_op(&key, &value)?;
                if about(&later) {
                    erase(&later);
                }
            }
        }
        for op in pending.iter().filter(|op| about(op)) {
            erase(op);
        }
        Ok(())
    }

    /// One op.
    pub fn op(&self, id: OpId) -> Result<Option<Op>, StoreError> {
        let Some(&idx) = self.index.get(&id.author) else {
            return Ok(None);
        };
        let key = op_key(prefix::OPS, idx, id.seq);
        match self.tree.get(key)? {
            Some(value) => self.decode_op(&key, &value).map(Some),
            None => Ok(None),
        }
    }

    /// One message with its edits, deletion and reactions folded in.
    pub fn message(&self, id: OpId) -> Result<Option<Message>, StoreError> {
        let Some(op) = self.op(id)? else {
            return Ok(None);
        };
        if !op.body.is_message() {
            return Ok(None);
        }
        Ok(Some(Message {
            state: self.state(id)?,
            op,
        }))
    }

    /// Where message `op` sits in the timeline: where it was written, or for one
    /// sent for later and shown, where it was shown ([`Store::show_last`]).
    pub fn timeline_pos(&self, op: &Op) -> Result<TimelinePos, StoreError> {
        let mut pos = op.pos();
        if let Some(&idx) = self.index.get(&op.id.author)
            && let Some(shown) = self.get_sealed::<u64>(&op_key(prefix::SHOWN, idx, op.id.seq))?
        {
            pos.lamport = Lamport(shown);
        }
        Ok(pos)
    }

    /// Moves message `id` to the end of the timeline, after everything this device
    /// holds: a message sent for later, as it shows. The Lamport clock moves past
    /// it, so what is written next comes after it. Returns where it sits now.
    pub fn show_last(&mut self, id: OpId) -> Result<Option<TimelinePos>, StoreError> {
        let Some(op) = self.op(id)? else {
            return Ok(None);
        };
        let Some(&idx) = self.index.get(&id.author) else {
            return Ok(None);
        };
        let now = self.timeline_pos(&op)?;
        if now.lamport >= self.lamport {
            return Ok(Some(now));
        }
        let rank = self.rank(idx);
        let shown = self.lamport.next();
        let mut batch = sled::Batch::default();
        batch.remove(&timeline_key(now.lamport, rank, idx, id.seq)[..]);
        batch.insert(&timeline_key(shown, rank, idx, id.seq)[..], &[][..]);
        let key = op_key(prefix::SHOWN, idx, id.seq);
        batch.insert(&key[..], self.cipher.seal(&key, &wire::encode(&shown.0)));
        batch.insert(
            LAMPORT_KEY,
            self.cipher.seal(LAMPORT_KEY, &wire::encode(&shown)),
        );
        self.tree.apply_batch(batch)?;
        self.lamport = shown;
        Ok(Some(TimelinePos {
            lamport: shown,
            ..now
        }))
    }

    /// The `limit` newest messages before `before` (or the very newest), oldest first.
    /// Walks the timeline index backwards, so the cost is that of `limit` reads
    /// whatever the length of the history.
    pub fn page_before(
        &self,
        before: Option<TimelinePos>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.index_page(prefix::TIMELINE, before, limit)
    }

    /// Like [`Store::page_before`], over shared files only: attachments that are
    /// neither view-once nor expiring, deleted ones left out. What Memories shows.
    pub fn gallery_before(
        &self,
        before: Option<TimelinePos>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut page = self.index_page(prefix::GALLERY, before, limit)?;
        page.retain(|m| m.attachment().is_some());
        Ok(page)
    }

    fn index_page(
        &self,
        p: u8,
        before: Option<TimelinePos>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let end = match before {
            Some(pos) => match self.index.get(&pos.author) {
                Some(&idx) => {
                    let mut key = timeline_key(pos.lamport, self.rank(idx), idx, pos.seq);
                    key[0] = p;
                    key.to_vec()
                }
                None => return Err(StoreError::Invalid("unknown position")),
            },
            None => vec![p + 1],
        };
        let start = vec![p];
        let mut page = Vec::with_capacity(limit.min(256));
        for entry in self.tree.range(start..end).rev().take(limit) {
            let (key, _) = entry?;
            let (_, idx, seq) =
                parse_timeline_key(&key).ok_or(StoreError::Corrupt("timeline key"))?;
            let author = *self
                .devices
                .get(usize::from(idx))
                .ok_or(StoreError::Corrupt("timeline author"))?;
            let id = OpId { author, seq };
            let message = self
                .message(id)?
                .ok_or(StoreError::Corrupt("timeline entry without op"))?;
            page.push(message);
        }
        page.reverse();
        Ok(page)
    }

    /// The encrypted file store that lives beside this database.
    pub fn blobs(&self) -> crate::BlobStore {
        crate::BlobStore::new(&self.dir, self.tree.clone(), &self.data_key)
    }

    /// What later ops did to message `id`. A state that will not decode (written by
    /// an older build without bounds, or damaged) is shown as none, so the message
    /// still shows and its page still loads.
    fn state(&self, id: OpId) -> Result<MessageState, StoreError> {
        let Some(&idx) = self.index.get(&id.author) else {
            return Ok(MessageState::default());
        };
        match self.get_sealed(&op_key(prefix::STATE, idx, id.seq)) {
            Ok(state) => Ok(state.unwrap_or_default()),
            Err(StoreError::Corrupt(why)) => {
                tracing::warn!(
                    why,
                    seq = id.seq,
                    "a message's state does not load; showing it without"
                );
                Ok(MessageState::default())
            }
            Err(e) => Err(e),
        }
    }

    fn decode_op(&self, key: &[u8], value: &[u8]) -> Result<Op, StoreError> {
        decode_op(&self.cipher, key, value)
    }

    /// Every setting, as stored before sealing, but those named in `skip`: what a
    /// backup copies.
    pub fn settings_raw(&self, skip: &[&str]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix([prefix::SETTING]) {
            let (key, value) = entry?;
            let name = String::from_utf8_lossy(&key[1..]).into_owned();
            if skip.contains(&name.as_str()) {
                continue;
            }
            let plain = self
                .cipher
                .open(&key, &value)
                .ok_or(StoreError::Corrupt("value does not decrypt"))?;
            out.push((name, plain.to_vec()));
        }
        Ok(out)
    }

    /// Stores a setting as [`Store::settings_raw`] gave it.
    pub fn set_setting_raw(&self, name: &str, plain: &[u8]) -> Result<(), StoreError> {
        let key = setting_key(name);
        self.tree.insert(&key[..], self.cipher.seal(&key, plain))?;
        Ok(())
    }

    /// The profile as it stands now, to back up from another thread: the logs up to
    /// what is held now, the settings but those in `skip`, the files.
    pub fn backup_source(&self, skip: &[&str]) -> Result<crate::BackupSource, StoreError> {
        Ok(crate::BackupSource {
            ops: OpsReader {
                tree: self.tree.clone(),
                cipher: Cipher::new(&self.data_key),
                index: self.index.clone(),
            },
            held: self.held_all(),
            acked: self.devices.iter().map(|d| (*d, self.acked(*d))).collect(),
            settings: self.settings_raw(skip)?,
            blobs: self.blobs(),
        })
    }

    /// A setting, profile or other small record, by name.
    pub fn setting<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.get_sealed(&setting_key(name))
    }

    /// Stores a setting, profile or other small record under `name`.
    pub fn set_setting<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let key = setting_key(name);
        self.tree
            .insert(&key[..], self.cipher.seal(&key, &wire::encode(value)))?;
        Ok(())
    }

    /// Removes a setting.
    pub fn remove_setting(&self, name: &str) -> Result<(), StoreError> {
        self.tree.remove(setting_key(name))?;
        Ok(())
    }

    fn get_sealed<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        let Some(value) = self.tree.get(key)? else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .open(key, &value)
            .ok_or(StoreError::Corrupt("value does not decrypt"))?;
        wire::decode(&plain, MAX_SETTING_BYTES)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("value does not decode"))
    }
}

/// Makes the profile directory the user's alone (0700), whatever it was: a folder
/// that existed before the profile, or was opened up since, would show who has
/// files and how many to anyone on the machine. Says so in the log when it changes.
pub(crate) fn make_private(dir: &Path) -> Result<(), OpenError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| OpenError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mode = fs::metadata(dir).map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            mode = format!("{:o}", mode & 0o777),
            "the profile folder was open to others; made it private"
        );
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

pub(crate) fn lock(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| OpenError::Io { path, source })?;
    // A Hearth that is just quitting, or a process forked a moment ago that has not
    // yet exec'd, can hold the lock for a few milliseconds: wait briefly before
    // telling the user the profile is in use.
    for _ in 0..LOCK_ATTEMPTS {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => std::thread::sleep(LOCK_RETRY),
            Err(fs::TryLockError::Error(source)) => {
                return Err(OpenError::Io {
                    path: dir.join(LOCK_FILE),
                    source,
                });
            }
        }
    }
    Err(OpenError::Locked {
        path: dir.to_path_buf(),
    })
}

/// Opens the database in `dir`, and the tree of the data key's `generation`.
pub(crate) fn open_db(dir: &Path, generation: u32) -> Result<(sled::Db, sled::Tree), OpenError> {
    let path = dir.join(DB_DIR);
    let unopenable = |e: sled::Error| OpenError::Unopenable {
        path: path.clone(),
        reason: e.to_string(),
    };
    // We hold the profile's own lock, so whoever still holds sled's is this process:
    // a `Store` just dropped whose sled flusher thread has not let go yet. Wait for
    // it rather than calling the database unopenable.
    let mut waited = 0;
    let db = loop {
        match sled::Config::new()
            .path(&path)
            .cache_capacity(CACHE_BYTES)
            .open()
        {
            // sled says so only in its message (an `ErrorKind::Other`).
            Err(sled::Error::Io(e)) if e.to_string().starts_with("could not acquire lock") => {
                if waited == SLED_LOCK_ATTEMPTS {
                    return Err(OpenError::Locked {
                        path: dir.to_path_buf(),
                    });
                }
                waited += 1;
                std::thread::sleep(LOCK_RETRY);
            }
            result => break result.map_err(unopenable)?,
        }
    };
    let tree = db
        .open_tree(rekey::tree_name(generation))
        .map_err(unopenable)?;
    Ok((db, tree))
}

/// An op as stored: opened under the data key, bound to its place, and decoded.
fn decode_op(cipher: &Cipher, key: &[u8], value: &[u8]) -> Result<Op, StoreError> {
    let plain = cipher
        .open(key, value)
        .ok_or(StoreError::Corrupt("op does not decrypt"))?;
    wire::decode_op(&plain).map_err(|_| StoreError::Corrupt("op does not decode"))
}

fn op_key(prefix: u8, idx: u16, seq: u64) -> [u8; 11] {
    let mut key = [0u8; 11];
    key[0] = prefix;
    key[1..3].copy_from_slice(&idx.to_be_bytes());
    key[3..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn timeline_key(lamport: Lamport, rank: u16, idx: u16, seq: u64) -> [u8; 21] {
    let mut key = [0u8; 21];
    key[0] = prefix::TIMELINE;
    key[1..9].copy_from_slice(&lamport.0.to_be_bytes());
    key[9..11].copy_from_slice(&rank.to_be_bytes());
    key[11..13].copy_from_slice(&idx.to_be_bytes());
    key[13..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// (lamport, author index, seq) of a timeline key.
fn parse_timeline_key(key: &[u8]) -> Option<(Lamport, u16, u64)> {
    let lamport = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let idx = u16::from_be_bytes(key.get(11..13)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(13..21)?.try_into().ok()?);
    Some((Lamport(lamport), idx, seq))
}

/// The `ABOUT` entry of an op by the author of the message it is about (an edit or
/// a file's hashes), under the author's index `idx`.
fn about_key(op: &Op, idx: u16) -> Option<[u8; 19]> {
    let target = match &op.body {
        OpBody::Edit { target, .. } | OpBody::FileReady { target, .. } => target,
        _ => return None,
    };
    if target.author != op.id.author {
        return None;
    }
    let mut key = [0u8; 19];
    key[..11].copy_from_slice(&op_key(prefix::ABOUT, idx, target.seq));
    key[11..].copy_from_slice(&op.id.seq.to_be_bytes());
    Some(key)
}

fn counter_key(prefix: u8, idx: u16) -> [u8; 3] {
    let [hi, lo] = idx.to_be_bytes();
    [prefix, hi, lo]
}

fn index_of(key: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(key.get(1..3)?.try_into().ok()?))
}

fn setting_key(name: &str) -> Vec<u8> {
    let mut key = vec![prefix::SETTING];
    key.extend_from_slice(name.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use hearth_core::{DeviceId, OpBody, OpId};

    use super::{ABOUT_INDEXED_KEY, Store, prefix};

    const ME: DeviceId = DeviceId([7; 32]);

    /// A profile made before the index of edits gets it when first opened, and a
    /// delete then erases the edits it finds through it.
    #[test]
    fn an_older_profile_is_indexed_when_opened_and_its_edits_erase() -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let text = |s: &str| OpBody::Text {
            text: s.into(),
            reply_to: None,
        };
        let target = OpId { author: ME, seq: 1 };
        {
            let mut store = Store::create(dir.path(), None).map_err(|e| e.to_string())?;
            store
                .append_local(ME, 1, text("first"))
                .map_err(|e| e.to_string())?;
            store
                .append_local(
                    ME,
                    2,
                    OpBody::Edit {
                        target,
                        text: "secret edit".into(),
                    },
                )
                .map_err(|e| e.to_string())?;
            // As a build before the index left it.
            for entry in store.tree.scan_prefix([prefix::ABOUT]) {
                let (key, _) = entry.map_err(|e| e.to_string())?;
                store.tree.remove(key).map_err(|e| e.to_string())?;
            }
            store
                .tree
                .remove(ABOUT_INDEXED_KEY)
                .map_err(|e| e.to_string())?;
            store.flush().map_err(|e| e.to_string())?;
        }
        let mut store = Store::open(dir.path(), None).map_err(|e| e.to_string())?;
        assert_eq!(store.tree.scan_prefix([prefix::ABOUT]).count(), 1);
        store
            .append_local(ME, 3, OpBody::Delete { target })
            .map_err(|e| e.to_string())?;
        assert!(
            !store
                .holds_plaintext(b"secret edit")
                .map_err(|e| e.to_string())?
        );
        assert!(!store.holds_plaintext(b"first").map_err(|e| e.to_string())?);
        Ok(())
    }
}
