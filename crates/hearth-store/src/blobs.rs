//! Attachments at rest: one file per attachment under `files/`, cut into fixed-size
//! chunks, each chunk sealed with XChaCha20-Poly1305 under a random key of that file's
//! own. The chunk hashes and which chunks are here live sealed in the database.
//!
//! The file's key is made of two halves, and each lives in one place: a secret in
//! the file's meta record (sealed in the database) and a salt in the file's own
//! header. Deleting a file overwrites its header before unlinking it. sled keeps a
//! deleted record's old value in its log until it reclaims the space, so the
//! secret may linger there, sealed under the data key; without the salt it opens
//! nothing, even for someone who has the passphrase and carves the file's freed
//! blocks off the disk. (On a copy-on-write file system or flash that remaps
//! writes, the old header may survive in blocks the file system no longer uses.)
//! Files written by builds before this kept the whole key in the meta record and
//! have no header; they still open.
//!
//! A file's name on disk is a keyed hash of the message it belongs to: the directory
//! shows how many files there are and how big, nothing of who sent what.
//!
//! Chunk `i` sits at `header + i * (chunk_size + 16)`; its nonce is `i`, which is
//! safe because a slot is only ever written with the one plaintext its hash allows
//! under that file's key (a download started again gets a new salt, so a new key).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hearth_core::{OpId, limits, wire};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cipher::Cipher;
use crate::direct::{DirectWriter, Written};
use crate::error::StoreError;

const FILES_DIR: &str = "files";
const STAGING_PREFIX: &str = "staging-";
const TAG_LEN: u64 = 16;
/// The header of a file whose key is split: magic, then the salt, then zeros.
const HEADER_LEN: u64 = 64;
const HEADER_MAGIC: &[u8; 8] = b"hearthF2";
const SALT_LEN: usize = 32;
use hearth_core::limits::MAX_CHUNKS;

mod prefix {
    /// file name → the file's meta (key, sizes, hashes, state)
    pub(super) const META: u8 = b'f';
    /// file name → the hash of every chunk
    pub(super) const HASHES: u8 = b'h';
    /// file name → bitmap of the chunks held, while a download is under way
    pub(super) const HAVE: u8 = b'b';
}

/// The key prefixes of the files' records in the database.
pub(crate) const RECORD_PREFIXES: [u8; 3] = [prefix::META, prefix::HASHES, prefix::HAVE];

#[derive(Clone, Serialize, Deserialize)]
struct Meta {
    id: OpId,
    size: u64,
    chunk_size: u32,
    hash: [u8; 32],
    chunks_root: [u8; 32],
    /// With `split_key`, the half of the file's key kept here; without (files from
    /// older builds), the whole key.
    key: [u8; 32],
    complete: bool,
    paused: bool,
    /// The other half of the key is the salt in the file's header.
    split_key: bool,
}

/// A meta record as builds before split keys wrote it.
#[derive(Serialize, Deserialize)]
struct LegacyMeta {
    id: OpId,
    size: u64,
    chunk_size: u32,
    hash: [u8; 32],
    chunks_root: [u8; 32],
    key: [u8; 32],
    complete: bool,
    paused: bool,
}

/// Opens a meta record of either shape. postcard refuses trailing bytes and
/// missing ones, so a record decodes as exactly one of them.
fn decode_meta(plain: &[u8]) -> Option<Meta> {
    if let Ok(meta) = wire::decode::<Meta>(plain, 4096) {
        return Some(meta);
    }
    let old: LegacyMeta = wire::decode(plain, 4096).ok()?;
    Some(Meta {
        id: old.id,
        size: old.size,
        chunk_size: old.chunk_size,
        hash: old.hash,
        chunks_root: old.chunks_root,
        key: old.key,
        complete: old.complete,
        paused: old.paused,
        split_key: false,
    })
}

impl Meta {
    fn chunk_count(&self) -> u64 {
        self.size.div_ceil(u64::from(self.chunk_size))
    }

    fn chunk_len(&self, index: u32) -> u64 {
        let start = u64::from(index) * u64::from(self.chunk_size);
        u64::from(self.chunk_size).min(self.size.saturating_sub(start))
    }

    /// Where chunk `index` sits in the file.
    fn slot(&self, index: u32) -> u64 {
        let header = if self.split_key { HEADER_LEN } else { 0 };
        header + slot_offset(self.chunk_size, index)
    }

    /// The key the chunks are sealed under, from the file's header when it is split.
    fn chunk_cipher(&self, file: &File) -> Result<ChunkCipher, StoreError> {
        if !self.split_key {
            return Ok(ChunkCipher::new(&self.key));
        }
        let salt = read_salt(file)?.ok_or(StoreError::Corrupt("a file's header is missing"))?;
        Ok(ChunkCipher::new(&split_key(&self.key, &salt)))
    }
}

/// The chunk key of a file whose key is split between `secret` and `salt`.
fn split_key(secret: &[u8; 32], salt: &[u8; SALT_LEN]) -> Zeroizing<[u8; 32]> {
    let mut material = Zeroizing::new([0u8; 64]);
    material[..32].copy_from_slice(secret);
    material[32..].copy_from_slice(salt);
    Zeroizing::new(blake3::derive_key(
        "hearth 2026 attachment chunk key",
        material.as_ref(),
    ))
}

/// Writes a header with a new random salt at the start of `file`, durably, and
/// returns the salt.
fn write_header(file: &File) -> Result<Zeroizing<[u8; SALT_LEN]>, StoreError> {
    let mut salt = Zeroizing::new([0u8; SALT_LEN]);
    rand::thread_rng().fill_bytes(salt.as_mut());
    let mut header = Zeroizing::new([0u8; HEADER_LEN as usize]);
    header[..HEADER_MAGIC.len()].copy_from_slice(HEADER_MAGIC);
    header[HEADER_MAGIC.len()..HEADER_MAGIC.len() + SALT_LEN].copy_from_slice(salt.as_ref());
    file.write_all_at(header.as_ref(), 0)
        .and_then(|()| file.sync_data())
        .map_err(|e| io_error("cannot write into the files directory", e))?;
    Ok(salt)
}

/// The salt in `file`'s header, or `None` if it has no header (not written yet, or
/// overwritten).
fn read_salt(file: &File) -> Result<Option<Zeroizing<[u8; SALT_LEN]>>, StoreError> {
    let mut header = Zeroizing::new([0u8; HEADER_LEN as usize]);
    match file.read_exact_at(header.as_mut(), 0) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_error("cannot read the file", e)),
    }
    if &header[..HEADER_MAGIC.len()] != HEADER_MAGIC {
        return Ok(None);
    }
    let mut salt = Zeroizing::new([0u8; SALT_LEN]);
    salt.copy_from_slice(&header[HEADER_MAGIC.len()..HEADER_MAGIC.len() + SALT_LEN]);
    Ok(Some(salt))
}

/// Whether `path` is the only name of its file, so unlinking it frees the file.
pub(crate) fn is_only_name(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| std::os::unix::fs::MetadataExt::nlink(&m) == 1)
}

/// [`wipe_header`], for a file about to be unlinked: if the wipe fails (a
/// read-only file, a full copy-on-write disk), the file is unlinked all the same,
/// which is still better than keeping it.
pub(crate) fn wipe_before_unlink(path: &Path) {
    if let Err(e) = wipe_header(path) {
        tracing::warn!(error = %e, "could not overwrite a file's key before deleting it");
    }
}

/// Overwrites the header of the file at `path` with zeros, durably, so its salt is
/// gone from the disk before the file is unlinked. A file without a header (from an
/// older build) is left as it is.
fn wipe_header(path: &Path) -> Result<(), StoreError> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("cannot delete the file", e)),
    };
    if read_salt(&file)?.is_none() {
        return Ok(());
    }
    file.write_all_at(&[0u8; HEADER_LEN as usize], 0)
        .and_then(|()| file.sync_data())
        .map_err(|e| io_error("cannot delete the file", e))
}

/// How far a file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobStatus {
    /// The message the file belongs to.
    pub id: OpId,
    /// The file's size.
    pub size: u64,
    /// Bytes held and verified.
    pub have: u64,
    /// Every chunk is here and the whole file's hash checked.
    pub complete: bool,
    /// The user stopped the download; it does not resume by itself.
    pub paused: bool,
    /// BLAKE3 of the whole file.
    pub hash: [u8; 32],
    /// BLAKE3 of the chunk hashes.
    pub chunks_root: [u8; 32],
}

/// A file written into the store by its sender, not yet tied to a message.
pub struct Staged {
    path: PathBuf,
    meta: Meta,
    hashes: Vec<[u8; 32]>,
    committed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What importing a file found out about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the whole file.
    pub hash: [u8; 32],
    /// Chunk size used.
    pub chunk_size: u32,
    /// BLAKE3 of the chunk hashes.
    pub chunks_root: [u8; 32],
}

impl Staged {
    /// What the file is.
    pub fn imported(&self) -> Imported {
        Imported {
            size: self.meta.size,
            hash: self.meta.hash,
            chunk_size: self.meta.chunk_size,
            chunks_root: self.meta.chunks_root,
        }
    }
}

/// What a first pass over a file found: enough to announce it before it is sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// What the file is.
    pub imported: Imported,
    /// The hash of every chunk.
    pub hashes: Vec<[u8; 32]>,
}

/// A file being sealed into the store while its chunks are already served: a
/// chunk can be read as soon as it is sealed. Made by [`BlobStore::begin_sealing`],
/// filled by [`Sealing::seal_from`], tied to its message by
/// [`BlobStore::commit_sealing`]; dropped before that, its file goes.
pub struct Sealing {
    path: PathBuf,
    file: File,
    aead: ChunkCipher,
    meta: Meta,
    hashes: Vec<[u8; 32]>,
    /// The file being sent, where chunks not sealed yet are served from (each
    /// checked against its hash first), so the partner need not wait for them.
    original: Option<File>,
    /// How many chunks are sealed, and whether sealing ended (done, failed or
    /// cancelled): readers wait on it.
    progress: std::sync::Mutex<SealProgress>,
    changed: std::sync::Condvar,
    committed: std::sync::atomic::AtomicBool,
}

#[derive(Clone, Copy, Default)]
struct SealProgress {
    sealed: u32,
    ended: Option<SealEnd>,
    /// When a chunk was last read to be served.
    served_at: Option<std::time::Instant>,
}

/// How long a file served from its original waits for the partner to start
/// fetching it before it is sealed into the store.
const FETCH_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
/// How long after the partner last fetched a chunk the fetch counts as over.
const FETCH_QUIET: std::time::Duration = std::time::Duration::from_millis(500);
/// How long sealing waits at most for the partner's fetch to end: on a slow link
/// the file is sealed (and the original may go) while the partner still fetches.
/// A crash before it is sealed seals it again at the next start.
const FETCH_WAIT_AT_MOST: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq)]
enum SealEnd {
    Done,
    Failed,
    Cancelled,
}

impl Drop for Sealing {
    fn drop(&mut self) {
        if !self.committed.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Sealing {
    /// The hash of every chunk, as the first pass found them.
    pub fn manifest(&self) -> &[[u8; 32]] {
        &self.hashes
    }

    /// What the file is.
    pub fn imported(&self) -> Imported {
        Imported {
            size: self.meta.size,
            hash: self.meta.hash,
            chunk_size: self.meta.chunk_size,
            chunks_root: self.meta.chunks_root,
        }
    }

    /// How many chunks the file has.
    pub fn chunk_count(&self) -> u32 {
        self.meta.chunk_count() as u32
    }

    /// The length of chunk `index`.
    pub fn chunk_len(&self, index: u32) -> u64 {
        self.meta.chunk_len(index)
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, SealProgress> {
        // Plain counters: a panic elsewhere leaves them usable.
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn end(&self, end: SealEnd) {
        let mut progress = self.progress();
        if progress.ended.is_none() {
            progress.ended = Some(end);
        }
        self.changed.notify_all();
    }

    /// Stops the sealing (the message was deleted) and every reader waiting on it.
    pub fn cancel(&self) {
        self.end(SealEnd::Cancelled);
    }

    /// Whether sealing was stopped or failed: nothing more will be served from it.
    pub fn is_abandoned(&self) -> bool {
        matches!(
            self.progress().ended,
            Some(SealEnd::Failed | SealEnd::Cancelled)
        )
    }

    /// Reads the file again, checks each chunk against the hash the first pass
    /// found (a file changed in between is refused), and seals it in place; calls
    /// `before_chunk` before each. Readers of a chunk wait until it is sealed.
    pub fn seal_from(
        &self,
        mut reader: impl Read,
        mut before_chunk: impl FnMut(u32),
    ) -> Result<(), StoreError> {
        let result = (|| {
            self.wait_for_fetch()?;
            let mut buf = vec![0u8; self.meta.chunk_size as usize];
            for index in 0..self.chunk_count() {
                before_chunk(index);
                if self.progress().ended.is_some() {
                    return Err(StoreError::Invalid("the sending was stopped"));
                }
                let len = self.meta.chunk_len(index) as usize;
                let n = read_full(&mut reader, &mut buf[..len])
                    .map_err(|e| io_error("cannot read the file", e))?;
                if n != len || blake3::hash(&buf[..len]).as_bytes() != &self.hashes[index as usize]
                {
                    return Err(StoreError::Invalid("the file changed while it was sent"));
                }
                let sealed = self.aead.seal(index, &buf[..len]);
                self.file
                    .write_all_at(&sealed, self.meta.slot(index))
                    .map_err(|e| io_error("cannot write into the files directory", e))?;
                let mut progress = self.progress();
                progress.sealed = index + 1;
                self.changed.notify_all();
            }
            // Nothing more than the first pass saw.
            if read_full(&mut reader, &mut buf[..1])
                .map_err(|e| io_error("cannot read the file", e))?
                != 0
            {
                return Err(StoreError::Invalid("the file changed while it was sent"));
            }
            self.file
                .sync_all()
                .map_err(|e| io_error("cannot write into the files directory", e))
        })();
        self.end(if result.is_ok() {
            SealEnd::Done
        } else {
            SealEnd::Failed
        });
        result
    }

    /// Serves chunks not sealed yet from `original`, the file being sent, and lets
    /// [`Sealing::seal_from`] wait for the partner's fetch to end: the partner gets
    /// the file without waiting for this device's own copy, and the two do not
    /// share the CPU and the disk.
    pub fn serving_from(mut self, original: File) -> Sealing {
        self.original = Some(original);
        self
    }

    /// With an original to serve from: waits for the partner to start fetching
    /// (up to [`FETCH_GRACE`]) and then while it fetches (a chunk served within
    /// [`FETCH_QUIET`]), [`FETCH_WAIT_AT_MOST`] in all. An error if the sending was
    /// stopped meanwhile.
    fn wait_for_fetch(&self) -> Result<(), StoreError> {
        if self.original.is_none() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let mut progress = self.progress();
        loop {
            if progress.ended.is_some() {
                return Err(StoreError::Invalid("the sending was stopped"));
            }
            let fetching = match progress.served_at {
                Some(at) => at.elapsed() < FETCH_QUIET,
                None => started.elapsed() < FETCH_GRACE,
            };
            if !fetching || started.elapsed() >= FETCH_WAIT_AT_MOST {
                return Ok(());
            }
            progress = self
                .changed
                .wait_timeout(progress, FETCH_QUIET / 4)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Chunk `index`: decrypted once it is sealed, read from the original (checked
    /// against its hash) before that, or else waited for. An error if sealing
    /// stopped before it, or if the original no longer holds it.
    pub fn chunk(&self, index: u32) -> Result<Vec<u8>, StoreError> {
        if index >= self.chunk_count() {
            return Err(StoreError::Invalid("no such chunk"));
        }
        let mut progress = self.progress();
        if let Some(original) = &self.original
            && progress.sealed <= index
            && progress.ended.is_none()
        {
            progress.served_at = Some(std::time::Instant::now());
            drop(progress);
            let mut plain = vec![0u8; self.meta.chunk_len(index) as usize];
            original
                .read_exact_at(
                    &mut plain,
                    u64::from(index) * u64::from(self.meta.chunk_size),
                )
                .map_err(|e| io_error("cannot read the file", e))?;
            if blake3::hash(&plain).as_bytes() != &self.hashes[index as usize] {
                return Err(StoreError::Invalid("the file changed while it was sent"));
            }
            return Ok(plain);
        }
        while progress.sealed <= index {
            if progress.ended.is_some() {
                return Err(StoreError::Invalid("the file is no longer being sent"));
            }
            progress = self
                .changed
                .wait_timeout(progress, std::time::Duration::from_millis(200))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        progress.served_at = Some(std::time::Instant::now());
        drop(progress);
        open_chunk(&self.aead, &self.file, &self.meta, index)
    }
}

/// The root that fixes a list of chunk hashes.
pub fn chunks_root(hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    for h in hashes {
        hasher.update(h);
    }
    *hasher.finalize().as_bytes()
}

/// The profile's attachment files. Cheap to clone; used from blocking threads.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    tree: sled::Tree,
    cipher: Cipher,
    names: [u8; 32],
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

/// The key file names are derived with, from the data key.
pub(crate) fn names_key(data_key: &Zeroizing<[u8; 32]>) -> [u8; 32] {
    blake3::derive_key("hearth 2026 attachment file names", data_key.as_ref())
}

/// The name of the file of the attachment `id`, and of its records' keys.
pub(crate) fn file_name(names: &[u8; 32], id: OpId) -> [u8; 16] {
    let hash = blake3::keyed_hash(names, &wire::encode(&id));
    let mut name = [0u8; 16];
    name.copy_from_slice(&hash.as_bytes()[..16]);
    name
}

/// Where the file named `name` lives in the files directory `dir`.
pub(crate) fn file_path(dir: &Path, name: &[u8; 16]) -> PathBuf {
    let name: String = name.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.blob"))
}

/// The name [`file_path`] gave `file`, if it is one.
fn parse_file_name(file: &str) -> Option<[u8; 16]> {
    let hex = file.strip_suffix(".blob")?;
    if hex.len() != 32 {
        return None;
    }
    let mut name = [0u8; 16];
    for (i, byte) in name.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(name)
}

/// The files directory of the profile in `profile`.
pub(crate) fn files_dir(profile: &Path) -> PathBuf {
    profile.join(FILES_DIR)
}

/// The prefix of the record that names a file's attachment.
pub(crate) const META_PREFIX: u8 = prefix::META;

/// The attachment a file's meta record (opened) belongs to.
pub(crate) fn meta_id(plain: &[u8]) -> Option<OpId> {
    decode_meta(plain).map(|meta| meta.id)
}

fn io_error(what: &str, e: io::Error) -> StoreError {
    StoreError::Files(format!("{what}: {e}"))
}

impl BlobStore {
    pub(crate) fn new(profile: &Path, tree: sled::Tree, data_key: &Zeroizing<[u8; 32]>) -> Self {
        BlobStore {
            inner: Arc::new(Inner {
                dir: files_dir(profile),
                tree,
                cipher: Cipher::new(data_key),
                names: names_key(data_key),
            }),
        }
    }

    /// The directory the files live in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.inner.dir)
            .map_err(|e| io_error("cannot make the files directory", e))
    }

    fn name(&self, id: OpId) -> [u8; 16] {
        file_name(&self.inner.names, id)
    }

    fn path(&self, id: OpId) -> PathBuf {
        file_path(&self.inner.dir, &self.name(id))
    }

    fn key(&self, p: u8, id: OpId) -> Vec<u8> {
        let mut key = vec![p];
        key.extend_from_slice(&self.name(id));
        key
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        p: u8,
        id: OpId,
        max: usize,
    ) -> Result<Option<T>, StoreError> {
        let key = self.key(p, id);
        let Some(value) = self.inner.tree.get(&key)? else {
            return Ok(None);
        };
        let plain = self
            .inner
            .cipher
            .open(&key, &value)
            .ok_or(StoreError::Corrupt("file record does not decrypt"))?;
        wire::decode(&plain, max)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("file record does not decode"))
    }

    fn open_record(&self, key: &[u8], value: &[u8]) -> Result<Meta, StoreError> {
        let plain = self
            .inner
            .cipher
            .open(key, value)
            .ok_or(StoreError::Corrupt("file record does not decrypt"))?;
        decode_meta(&plain).ok_or(StoreError::Corrupt("file record does not decode"))
    }

    fn put<T: Serialize>(&self, p: u8, id: OpId, value: &T) -> Result<(), StoreError> {
        let key = self.key(p, id);
        self.inner
            .tree
            .insert(&key[..], self.inner.cipher.seal(&key, &wire::encode(value)))?;
        Ok(())
    }

    fn meta(&self, id: OpId) -> Result<Option<Meta>, StoreError> {
        let key = self.key(prefix::META, id);
        match self.inner.tree.get(&key)? {
            Some(value) => self.open_record(&key, &value).map(Some),
            None => Ok(None),
        }
    }

    fn hashes(&self, id: OpId) -> Result<Option<Vec<[u8; 32]>>, StoreError> {
        self.get(prefix::HASHES, id, (MAX_CHUNKS as usize) * 33 + 16)
    }

    fn have(&self, id: OpId, meta: &Meta) -> Result<Vec<u8>, StoreError> {
        if meta.complete {
            return Ok(vec![0xff; meta.chunk_count().div_ceil(8) as usize]);
        }
        Ok(self
            .get(prefix::HAVE, id, (MAX_CHUNKS as usize) / 8 + 16)?
            .unwrap_or_else(|| vec![0; meta.chunk_count().div_ceil(8) as usize]))
    }

    /// Removes every attachment file (their records are the store's to remove).
    pub(crate) fn remove_files(&self) -> Result<(), StoreError> {
        let Ok(entries) = fs::read_dir(&self.inner.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            wipe_before_unlink(&entry.path());
            fs::remove_file(entry.path()).map_err(|e| io_error("cannot delete the file", e))?;
        }
        Ok(())
    }

    /// Removes files left half-imported by a crash, and files no record names (a
    /// crash between making a file and recording it, or in the middle of deleting
    /// one), their headers wiped first.
    pub fn sweep(&self) -> Result<(), StoreError> {
        let Ok(entries) = fs::read_dir(&self.inner.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let orphan = match parse_file_name(&name) {
                Some(name) => {
                    let mut key = vec![prefix::META];
                    key.extend_from_slice(&name);
                    !self.inner.tree.contains_key(key)?
                }
                None => name.starts_with(STAGING_PREFIX),
            };
            if orphan {
                // A link another name shares (left by a re-key that did not
                // commit) is only unlinked: its header is the live file's.
                if is_only_name(&entry.path()) {
                    wipe_before_unlink(&entry.path());
                }
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Reads a file the user is sending into the store, sealed, computing its
    /// hashes on the way. Refuses empty files and files over 4 GiB.
    pub fn stage(&self, reader: impl Read, chunk_size: u32) -> Result<Staged, StoreError> {
        let (path, file) = self.new_staging_file()?;
        let mut staged = Staged {
            path,
            meta: Meta {
                id: OpId {
                    author: hearth_core::DeviceId([0; 32]),
                    seq: 0,
                },
                size: 0,
                chunk_size,
                hash: [0; 32],
                chunks_root: [0; 32],
                key: random_key(),
                complete: true,
                paused: false,
                split_key: true,
            },
            hashes: Vec::new(),
            committed: false,
        };
        let salt = write_header(&file)?;
        let aead = ChunkCipher::new(&split_key(&staged.meta.key, &salt));
        let meta = staged.meta.clone();
        let hashed = read_chunks(reader, chunk_size, |index, chunk| {
            file.write_all_at(&aead.seal(index, chunk), meta.slot(index))
                .map_err(|e| io_error("cannot write into the files directory", e))
        })?;
        file.sync_all()
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        staged.meta.size = hashed.imported.size;
        staged.meta.hash = hashed.imported.hash;
        staged.meta.chunks_root = hashed.imported.chunks_root;
        staged.hashes = hashed.hashes;
        Ok(staged)
    }

    /// The first pass over a file being sent: its size and hashes, read without
    /// writing anything. Refuses empty files and files over 4 GiB.
    pub fn hash(&self, reader: impl Read, chunk_size: u32) -> Result<Hashed, StoreError> {
        read_chunks(reader, chunk_size, |_, _| Ok(()))
    }

    /// A new file in the files directory, named as a staging file is (swept at
    /// start if nothing commits it).
    fn new_staging_file(&self) -> Result<(PathBuf, File), StoreError> {
        self.ensure_dir()?;
        let mut tag = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut tag);
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let path = self.inner.dir.join(format!("{STAGING_PREFIX}{tag}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        Ok((path, file))
    }

    /// Makes the file that [`Sealing::seal_from`] fills, for a file the first pass
    /// described.
    pub fn begin_sealing(&self, hashed: Hashed) -> Result<Sealing, StoreError> {
        let (path, file) = self.new_staging_file()?;
        let key = random_key();
        let salt = match write_header(&file) {
            Ok(salt) => salt,
            Err(e) => {
                let _ = fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok(Sealing {
            path,
            file,
            aead: ChunkCipher::new(&split_key(&key, &salt)),
            meta: Meta {
                id: OpId {
                    author: hearth_core::DeviceId([0; 32]),
                    seq: 0,
                },
                size: hashed.imported.size,
                chunk_size: hashed.imported.chunk_size,
                hash: hashed.imported.hash,
                chunks_root: hashed.imported.chunks_root,
                key,
                complete: true,
                paused: false,
                split_key: true,
            },
            hashes: hashed.hashes,
            original: None,
            progress: std::sync::Mutex::new(SealProgress::default()),
            changed: std::sync::Condvar::new(),
            committed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Ties a file sealed to the end to the message that shares it. Readers of the
    /// [`Sealing`] keep reading it under its new name.
    pub fn commit_sealing(&self, sealing: &Sealing, id: OpId) -> Result<(), StoreError> {
        if sealing.progress().ended != Some(SealEnd::Done) {
            return Err(StoreError::Invalid("the file is not sealed yet"));
        }
        let mut meta = sealing.meta.clone();
        meta.id = id;
        fs::rename(&sealing.path, self.path(id))
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        sealing
            .committed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.put(prefix::HASHES, id, &sealing.hashes)?;
        self.put(prefix::META, id, &meta)?;
        Ok(())
    }

    /// Ties a staged file to the message that shares it.
    pub fn commit(&self, mut staged: Staged, id: OpId) -> Result<(), StoreError> {
        staged.meta.id = id;
        fs::rename(&staged.path, self.path(id))
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        staged.committed = true;
        self.put(prefix::HASHES, id, &staged.hashes)?;
        self.put(prefix::META, id, &staged.meta)?;
        Ok(())
    }

    /// Records that the file of message `id` is wanted: the download can start.
    /// Does nothing if the store already knows the file.
    pub fn expect(&self, id: OpId, attachment: &hearth_core::Attachment) -> Result<(), StoreError> {
        if self.meta(id)?.is_some() {
            return Ok(());
        }
        if attachment.chunk_count() > MAX_CHUNKS {
            return Err(StoreError::Invalid("file has too many chunks"));
        }
        self.ensure_dir()?;
        let key = random_key();
        // The file and its header first: a record never names a file without one.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.path(id))
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        write_header(&file)?;
        self.put(
            prefix::META,
            id,
            &Meta {
                id,
                size: attachment.size,
                chunk_size: attachment.chunk_size,
                hash: attachment.hash,
                chunks_root: attachment.chunks_root,
                key,
                complete: false,
                paused: false,
                split_key: true,
            },
        )
    }

    /// How far the file of message `id` is; `None` if the store has none.
    pub fn status(&self, id: OpId) -> Result<Option<BlobStatus>, StoreError> {
        let Some(meta) = self.meta(id)? else {
            return Ok(None);
        };
        let have = self.have(id, &meta)?;
        Ok(Some(status_of(&meta, &have)))
    }

    /// Every file the store knows, complete or not.
    pub fn list(&self) -> Result<Vec<BlobStatus>, StoreError> {
        let mut out = Vec::new();
        for entry in self.inner.tree.scan_prefix([prefix::META]) {
            let (key, value) = entry?;
            let meta = self.open_record(&key, &value)?;
            let have = self.have(meta.id, &meta)?;
            out.push(status_of(&meta, &have));
        }
        Ok(out)
    }

    /// Stops or allows the download of `id` resuming by itself.
    pub fn set_paused(&self, id: OpId, paused: bool) -> Result<(), StoreError> {
        if let Some(mut meta) = self.meta(id)? {
            meta.paused = paused;
            self.put(prefix::META, id, &meta)?;
        }
        Ok(())
    }

    /// The hash of each chunk of `id`, once known.
    pub fn manifest(&self, id: OpId) -> Result<Option<Vec<[u8; 32]>>, StoreError> {
        self.hashes(id)
    }

    /// Records the chunk hashes of `id` after checking them against the root the
    /// attachment op carries.
    pub fn set_manifest(&self, id: OpId, hashes: &[[u8; 32]]) -> Result<(), StoreError> {
        let meta = self.meta(id)?.ok_or(StoreError::Invalid("no such file"))?;
        if hashes.len() as u64 != meta.chunk_count() || chunks_root(hashes) != meta.chunks_root {
            return Err(StoreError::Invalid(
                "chunk list does not match the attachment",
            ));
        }
        self.put(prefix::HASHES, id, &hashes.to_vec())
    }

    /// Opens the file of `id` for receiving chunks.
    pub fn writer(&self, id: OpId) -> Result<BlobWriter, StoreError> {
        let meta = self.meta(id)?.ok_or(StoreError::Invalid("no such file"))?;
        let hashes = self
            .hashes(id)?
            .ok_or(StoreError::Invalid("chunk list not known yet"))?;
        let mut have = self.have(id, &meta)?;
        self.ensure_dir()?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.path(id))
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        let aead = match (meta.split_key, read_salt(&file)?) {
            (false, _) => ChunkCipher::new(&meta.key),
            (true, Some(salt)) => ChunkCipher::new(&split_key(&meta.key, &salt)),
            // The file went missing under an unfinished download: what it held is
            // lost with its salt, so the download starts over under a new one.
            (true, None) if !meta.complete => {
                file.set_len(0)
                    .map_err(|e| io_error("cannot write into the files directory", e))?;
                let salt = write_header(&file)?;
                have.iter_mut().for_each(|b| *b = 0);
                self.put(prefix::HAVE, id, &have)?;
                self.inner.tree.flush()?;
                ChunkCipher::new(&split_key(&meta.key, &salt))
            }
            (true, None) => return Err(StoreError::Corrupt("a file's header is missing")),
        };
        let first_missing = (0..meta.chunk_count() as u32).find(|&i| !bit(&have, i));
        Ok(BlobWriter {
            store: self.clone(),
            aead,
            file,
            meta,
            // Hashing as chunks arrive works only from the first chunk on.
            whole: if first_missing == Some(0) {
                WholeHash::start()
            } else {
                None
            },
            direct: None,
            hashes,
            have,
            dirty: false,
        })
    }

    /// Opens the complete file of `id` for reading.
    pub fn reader(&self, id: OpId) -> Result<BlobReader, StoreError> {
        let meta = self.meta(id)?.ok_or(StoreError::Invalid("no such file"))?;
        if !meta.complete {
            return Err(StoreError::Invalid("the file has not fully arrived"));
        }
        let file = File::open(self.path(id)).map_err(|e| io_error("cannot read the file", e))?;
        Ok(BlobReader {
            aead: meta.chunk_cipher(&file)?,
            file,
            meta,
            next: 0,
            buf: Vec::new(),
            at: 0,
        })
    }

    /// Deletes the file of `id`: its chunks, its key (the header's salt overwritten
    /// first), its records.
    pub fn delete(&self, id: OpId) -> Result<(), StoreError> {
        wipe_before_unlink(&self.path(id));
        match fs::remove_file(self.path(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("cannot delete the file", e)),
        }
        let mut batch = sled::Batch::default();
        for p in [prefix::META, prefix::HASHES, prefix::HAVE] {
            batch.remove(self.key(p, id));
        }
        self.inner.tree.apply_batch(batch)?;
        self.inner.tree.flush()?;
        Ok(())
    }
}

fn status_of(meta: &Meta, have: &[u8]) -> BlobStatus {
    let have_bytes = (0..meta.chunk_count() as u32)
        .filter(|&i| bit(have, i))
        .map(|i| meta.chunk_len(i))
        .sum();
    BlobStatus {
        id: meta.id,
        size: meta.size,
        have: have_bytes,
        complete: meta.complete,
        paused: meta.paused,
        hash: meta.hash,
        chunks_root: meta.chunks_root,
    }
}

fn bit(bits: &[u8], i: u32) -> bool {
    bits.get((i / 8) as usize)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn slot_offset(chunk_size: u32, index: u32) -> u64 {
    u64::from(index) * (u64::from(chunk_size) + TAG_LEN)
}

const CHUNK_AAD: &[u8] = b"hearth file chunk";

/// XChaCha20-Poly1305 for file chunks, under the file's own key, with the chunk's
/// index as the nonce.
///
/// Built from HChaCha20 (the RustCrypto `chacha20` crate) and ring's
/// ChaCha20-Poly1305, whose assembly is about twice as fast as the portable AEAD on
/// this kind of machine; the output is byte for byte XChaCha20-Poly1305
/// (draft-irtf-cfrg-xchacha), so files sealed before still open.
struct ChunkCipher {
    key: Zeroizing<[u8; 32]>,
}

impl ChunkCipher {
    fn new(key: &[u8; 32]) -> ChunkCipher {
        ChunkCipher {
            key: Zeroizing::new(*key),
        }
    }

    /// The ChaCha20-Poly1305 key and nonce that XChaCha20-Poly1305 uses for chunk
    /// `index`: HChaCha20 of the key and the nonce's first 16 bytes, and the last 8.
    fn for_chunk(&self, index: u32) -> (ring::aead::LessSafeKey, ring::aead::Nonce) {
        let mut xnonce = [0u8; 24];
        xnonce[..4].copy_from_slice(&index.to_le_bytes());
        let mut subkey = Zeroizing::new([0u8; 32]);
        subkey.copy_from_slice(&chacha20::hchacha::<chacha20::cipher::consts::U10>(
            (&*self.key).into(),
            (&xnonce[..16]).into(),
        ));
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&xnonce[16..]);
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, subkey.as_slice())
            // A 32-byte key is always the right length for ChaCha20-Poly1305.
            .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 takes 32-byte keys"));
        (
            ring::aead::LessSafeKey::new(key),
            ring::aead::Nonce::assume_unique_for_key(nonce),
        )
    }

    fn seal(&self, index: u32, plain: &[u8]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(plain.len() + TAG_LEN as usize);
        sealed.extend_from_slice(plain);
        sealed.extend_from_slice(&[0; TAG_LEN as usize]);
        self.seal_in_place(index, &mut sealed);
        sealed
    }

    /// Seals chunk `index`, held in `buf` before the last [`TAG_LEN`] bytes, in
    /// place; the tag goes into those bytes.
    fn seal_in_place(&self, index: u32, buf: &mut [u8]) {
        let (key, nonce) = self.for_chunk(index);
        let (body, tag) = buf.split_at_mut(buf.len() - TAG_LEN as usize);
        match key.seal_in_place_separate_tag(nonce, ring::aead::Aad::from(CHUNK_AAD), body) {
            Ok(sealed) => tag.copy_from_slice(sealed.as_ref()),
            // Sealing fails only for inputs larger than ChaCha20's 256 GiB; zeros
            // then fail to open rather than plaintext being kept.
            Err(_) => {
                body.fill(0);
                tag.fill(0);
            }
        }
    }

    fn open(&self, index: u32, mut sealed: Vec<u8>) -> Option<Vec<u8>> {
        let (key, nonce) = self.for_chunk(index);
        let len = key
            .open_in_place(nonce, ring::aead::Aad::from(CHUNK_AAD), &mut sealed)
            .ok()?
            .len();
        sealed.truncate(len);
        Some(sealed)
    }
}

fn open_chunk(
    aead: &ChunkCipher,
    file: &File,
    meta: &Meta,
    index: u32,
) -> Result<Vec<u8>, StoreError> {
    let len = meta.chunk_len(index) + TAG_LEN;
    let mut sealed = vec![0u8; len as usize];
    file.read_exact_at(&mut sealed, meta.slot(index))
        .map_err(|e| io_error("cannot read the file", e))?;
    aead.open(index, sealed)
        .ok_or(StoreError::Corrupt("a file chunk does not decrypt"))
}

/// A new random key (or half of one).
fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

/// Reads a file being sent in chunks of `chunk_size`, handing each to `each` with
/// its index, and finds its size and hashes. Refuses a chunk size out of range,
/// empty files and files over 4 GiB.
fn read_chunks(
    mut reader: impl Read,
    chunk_size: u32,
    mut each: impl FnMut(u32, &[u8]) -> Result<(), StoreError>,
) -> Result<Hashed, StoreError> {
    if !limits::CHUNK_BYTES_RANGE.contains(&chunk_size) {
        return Err(StoreError::Invalid("chunk size out of range"));
    }
    // The whole file's hash beside this thread, which takes each chunk's.
    let no_hash = || StoreError::Files("the file's hash could not be taken".into());
    let mut whole = WholeHash::start().ok_or_else(no_hash)?;
    let mut hashes = Vec::new();
    let mut buf = vec![0u8; chunk_size as usize];
    let mut size = 0u64;
    loop {
        let n =
            read_full(&mut reader, &mut buf).map_err(|e| io_error("cannot read the file", e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limits::MAX_FILE_BYTES {
            return Err(StoreError::Invalid("file larger than 4 GiB"));
        }
        let chunk = &buf[..n];
        whole = whole
            .push(hashes.len() as u32, chunk.to_vec())
            .ok_or_else(no_hash)?;
        hashes.push(*blake3::hash(chunk).as_bytes());
        each(hashes.len() as u32 - 1, chunk)?;
        if n < buf.len() {
            break;
        }
    }
    if size == 0 {
        return Err(StoreError::Invalid("the file is empty"));
    }
    let whole = whole.finish(hashes.len() as u64).ok_or_else(no_hash)?;
    Ok(Hashed {
        imported: Imported {
            size,
            hash: *whole.finalize().as_bytes(),
            chunk_size,
            chunks_root: chunks_root(&hashes),
        },
        hashes,
    })
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Receives the chunks of one file, verifying each against its hash.
pub struct BlobWriter {
    store: BlobStore,
    aead: ChunkCipher,
    file: File,
    meta: Meta,
    hashes: Vec<[u8; 32]>,
    have: Vec<u8>,
    dirty: bool,
    /// The whole file's hash, taken while chunks have come in order in this run;
    /// `None` once one came out of order.
    whole: Option<WholeHash>,
    /// Chunks that come in order go to the disk past the page cache; `None` once one
    /// came out of order (or where the file system takes no direct writes).
    direct: Option<DirectWriter>,
}

/// The whole file's hash, taken on a thread of its own from chunks handed to it in
/// order, while the thread that hands them takes each chunk's own hash.
struct WholeHash {
    chunks: std::sync::mpsc::SyncSender<Vec<u8>>,
    hasher: std::thread::JoinHandle<blake3::Hasher>,
    /// The chunk it needs next.
    next: u32,
}

impl WholeHash {
    /// `None` if no thread can be started (the file is read back at the end).
    fn start() -> Option<WholeHash> {
        let (chunks, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let hasher = std::thread::Builder::new()
            .name("hearth-file-hash".into())
            .spawn(move || {
                let mut whole = blake3::Hasher::new();
                for chunk in rx {
                    whole.update(&chunk);
                }
                whole
            })
            .ok()?;
        Some(WholeHash {
            chunks,
            hasher,
            next: 0,
        })
    }

    /// Hands it chunk `index`; `None` if that is not the next one (or the thread
    /// is gone): the hash is then taken from the disk at the end.
    fn push(mut self, index: u32, chunk: Vec<u8>) -> Option<WholeHash> {
        if index != self.next || self.chunks.send(chunk).is_err() {
            return None;
        }
        self.next += 1;
        Some(self)
    }

    /// The hash of the chunks handed to it, once all `count` were.
    fn finish(self, count: u64) -> Option<blake3::Hasher> {
        let WholeHash {
            chunks,
            hasher,
            next,
        } = self;
        drop(chunks);
        let whole = hasher.join().ok()?;
        (u64::from(next) == count).then_some(whole)
    }
}

impl BlobWriter {
    /// The file's size.
    pub fn size(&self) -> u64 {
        self.meta.size
    }

    /// Bytes held and verified.
    pub fn have_bytes(&self) -> u64 {
        status_of(&self.meta, &self.have).have
    }

    /// The chunks not held yet, in order.
    pub fn missing(&self) -> Vec<u32> {
        (0..self.meta.chunk_count() as u32)
            .filter(|&i| !bit(&self.have, i))
            .collect()
    }

    /// Stores chunk `index` if its bytes hash to what the manifest says. Returns
    /// false, storing nothing, if they do not.
    pub fn write_chunk(
        &mut self,
        index: u32,
        data: impl Into<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        let data = data.into();
        let Some(expected) = self.hashes.get(index as usize) else {
            return Ok(false);
        };
        if data.len() as u64 != self.meta.chunk_len(index)
            || blake3::hash(&data).as_bytes() != expected
        {
            return Ok(false);
        }
        if !self.write_direct(index, &data)? {
            let sealed = self.aead.seal(index, &data);
            self.file
                .write_all_at(&sealed, self.meta.slot(index))
                .map_err(|e| io_error("cannot write into the files directory", e))?;
        }
        self.have[(index / 8) as usize] |= 1 << (index % 8);
        self.dirty = true;
        self.whole = self.whole.take().and_then(|whole| whole.push(index, data));
        Ok(true)
    }

    /// From here on, writes the chunks that come in order from the first one not
    /// held past the page cache, on a thread of this writer's (for a download, which
    /// writes the whole file at once; not for chunks that come one by one over
    /// hours). False where the file system takes no direct writes: they go through
    /// the page cache, as before.
    pub fn write_past_page_cache(&mut self) -> bool {
        if self.direct.is_none()
            && let Some(first) = self.missing().first()
        {
            let sealed = self.meta.chunk_size as usize + TAG_LEN as usize;
            let path = self.store.path(self.meta.id);
            self.direct = DirectWriter::open(&path, &self.file, self.meta.slot(*first), sealed);
        }
        self.direct.is_some()
    }

    /// Seals and writes chunk `index` past the page cache if it continues the chunks
    /// written so; false if it does not, and is to be written through the page
    /// cache (as every chunk after it).
    fn write_direct(&mut self, index: u32, data: &[u8]) -> Result<bool, StoreError> {
        let io = |e| io_error("cannot write into the files directory", e);
        let len = data.len() + TAG_LEN as usize;
        let slot = self.meta.slot(index);
        let Some(direct) = self.direct.as_mut() else {
            return Ok(false);
        };
        if direct.next_offset() == slot
            && let Some(room) = direct.spare(len)
        {
            room[..data.len()].copy_from_slice(data);
            self.aead.seal_in_place(index, room);
            direct.append(len).map_err(io)?;
            return Ok(true);
        }
        // Out of order: everything the direct writer was given goes to the file
        // first.
        direct.settle().and_then(Written::wait).map_err(io)?;
        self.direct = None;
        Ok(false)
    }

    /// Makes the chunks written so far durable, and records them, so a restart
    /// resumes after them.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        match self.take_checkpoint()? {
            Some(checkpoint) => checkpoint.make_durable().map(|_| ()),
            None => Ok(()),
        }
    }

    /// The chunks written so far, to be made durable by [`Checkpoint::make_durable`]
    /// (on another thread, while this writer goes on); `None` if nothing was written
    /// since the last one. Checkpoints must be made durable in the order they were
    /// taken.
    pub fn take_checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        if !self.dirty {
            return Ok(None);
        }
        // Every chunk recorded must be in the file before it is flushed, the end of
        // the last one too.
        let written = match self.direct.as_mut() {
            Some(direct) => Some(
                direct
                    .settle()
                    .map_err(|e| io_error("cannot write into the files directory", e))?,
            ),
            None => None,
        };
        let file = self
            .file
            .try_clone()
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        self.dirty = false;
        Ok(Some(Checkpoint {
            store: self.store.clone(),
            written,
            file,
            id: self.meta.id,
            have: self.have.clone(),
            have_bytes: self.have_bytes(),
        }))
    }

    /// Once every chunk is here: checks the whole file's hash and marks it complete.
    /// Returns the hash. The hash was taken as the chunks arrived when they came in
    /// order in this run; otherwise (after a resume, or a chunk fetched again) the
    /// file is read back for it.
    pub fn finish(mut self) -> Result<[u8; 32], StoreError> {
        if !self.missing().is_empty() {
            return Err(StoreError::Invalid("the file has not fully arrived"));
        }
        self.checkpoint()?;
        let count = self.meta.chunk_count();
        let whole = match self.whole.take().and_then(|whole| whole.finish(count)) {
            Some(whole) => whole,
            None => {
                let mut whole = blake3::Hasher::new();
                for index in 0..self.meta.chunk_count() as u32 {
                    let chunk = open_chunk(&self.aead, &self.file, &self.meta, index)?;
                    whole.update(&chunk);
                }
                whole
            }
        };
        if *whole.finalize().as_bytes() != self.meta.hash {
            // Every chunk matched its hash, so the disk changed under us: start over.
            self.have.iter_mut().for_each(|b| *b = 0);
            self.dirty = true;
            self.checkpoint()?;
            return Err(StoreError::Corrupt("the file does not match its hash"));
        }
        let id = self.meta.id;
        if self.store.meta(id)?.is_none() {
            return Err(StoreError::Files("the file was deleted".into()));
        }
        self.meta.complete = true;
        self.store.put(prefix::META, id, &self.meta)?;
        self.store
            .inner
            .tree
            .remove(self.store.key(prefix::HAVE, id))?;
        self.store.inner.tree.flush()?;
        Ok(self.meta.hash)
    }
}

/// The chunks a [`BlobWriter`] had written when it was taken: once they are on
/// disk, they are recorded as held, and a restart resumes after them.
pub struct Checkpoint {
    store: BlobStore,
    /// When the chunks written past the page cache are all in the file.
    written: Option<Written>,
    file: File,
    id: OpId,
    have: Vec<u8>,
    have_bytes: u64,
}

impl Checkpoint {
    /// Flushes the file to disk, then records its chunks as held. Returns the
    /// bytes of the file now held for good.
    pub fn make_durable(self) -> Result<u64, StoreError> {
        self.written
            .map_or(Ok(()), Written::wait)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error("cannot write into the files directory", e))?;
        if self.store.meta(self.id)?.is_none() {
            return Err(StoreError::Files("the file was deleted".into()));
        }
        self.store.put(prefix::HAVE, self.id, &self.have)?;
        self.store.inner.tree.flush()?;
        Ok(self.have_bytes)
    }
}

/// Reads a complete file back, decrypting chunk by chunk: plaintext only ever
/// exists in memory.
pub struct BlobReader {
    aead: ChunkCipher,
    file: File,
    meta: Meta,
    next: u32,
    buf: Vec<u8>,
    at: usize,
}

impl BlobReader {
    /// The file's size.
    pub fn size(&self) -> u64 {
        self.meta.size
    }

    /// The file's chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.meta.chunk_size
    }

    /// How many chunks the file has.
    pub fn chunk_count(&self) -> u32 {
        self.meta.chunk_count() as u32
    }

    /// The length of chunk `index`.
    pub fn chunk_len(&self, index: u32) -> u64 {
        self.meta.chunk_len(index)
    }

    /// One chunk, decrypted.
    pub fn chunk(&self, index: u32) -> Result<Vec<u8>, StoreError> {
        if u64::from(index) >= self.meta.chunk_count() {
            return Err(StoreError::Invalid("no such chunk"));
        }
        open_chunk(&self.aead, &self.file, &self.meta, index)
    }
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.buf.len() {
            if u64::from(self.next) >= self.meta.chunk_count() {
                return Ok(0);
            }
            self.buf = self
                .chunk(self.next)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.next += 1;
            self.at = 0;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{self, File};
    use std::io::Read;
    use std::os::unix::fs::FileExt;

    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use hearth_core::{Attachment, DeviceId, OpId, limits, wire};

    use super::{
        CHUNK_AAD, ChunkCipher, HEADER_LEN, LegacyMeta, TAG_LEN, chunks_root, prefix, slot_offset,
        split_key,
    };
    use crate::Store;

    const ME: DeviceId = DeviceId([7; 32]);
    const CHUNK: u32 = *limits::CHUNK_BYTES_RANGE.start();

    /// The attachment op that shares a file imported as `imported`.
    fn attachment_of(imported: &super::Imported) -> Attachment {
        Attachment {
            name: "letër.bin".into(),
            mime: "application/octet-stream".into(),
            size: imported.size,
            hash: imported.hash,
            chunk_size: imported.chunk_size,
            chunks_root: imported.chunks_root,
            thumbnail: None,
            view_once: false,
            expires_after_open_secs: None,
        }
    }

    fn content(len: usize) -> Vec<u8> {
        (0..len as u32).map(|i| (i * 13 + i / 7) as u8).collect()
    }

    /// What someone who has the passphrase and the disk after a delete can try: the
    /// file's blocks (still readable through `carved`, as freed blocks are to a
    /// forensic tool) and the meta record sled's log still holds.
    fn opens_chunk_zero(carved: &File, meta: &super::Meta, plain: &[u8]) -> bool {
        let mut header = [0u8; HEADER_LEN as usize];
        let _ = carved.read_exact_at(&mut header, 0);
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&header[8..40]);
        let len = (u64::from(CHUNK) + TAG_LEN) as usize;
        let candidates = [
            ChunkCipher::new(&meta.key),
            ChunkCipher::new(&split_key(&meta.key, &salt)),
        ];
        [0, HEADER_LEN].into_iter().any(|start| {
            let mut sealed = vec![0u8; len];
            carved.read_exact_at(&mut sealed, start).is_ok()
                && candidates.iter().any(|aead| {
                    aead.open(0, sealed.clone())
                        .is_some_and(|p| p == plain[..CHUNK as usize])
                })
        })
    }

    /// Deleted means the file's key is gone: its meta record (as sled's log may keep
    /// it) and the file's freed blocks together no longer open a chunk, though they
    /// did before the delete, for a file sent and for one received.
    #[test]
    fn a_deleted_files_key_is_gone_even_with_its_record_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), Some("fjalëkalim")).unwrap();
        let blobs = store.blobs();
        let plain = content(3 * CHUNK as usize + 100);
        let sent = OpId { author: ME, seq: 1 };
        let staged = blobs.stage(&plain[..], CHUNK).unwrap();
        let imported = staged.imported();
        blobs.commit(staged, sent).unwrap();

        let received = OpId { author: ME, seq: 2 };
        let attachment = attachment_of(&imported);
        blobs.expect(received, &attachment).unwrap();
        let hashes = blobs.manifest(sent).unwrap().unwrap();
        blobs.set_manifest(received, &hashes).unwrap();
        let mut writer = blobs.writer(received).unwrap();
        for (index, chunk) in plain.chunks(CHUNK as usize).enumerate() {
            assert!(writer.write_chunk(index as u32, chunk).unwrap());
        }
        writer.finish().unwrap();

        for id in [sent, received] {
            let mut back = Vec::new();
            blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, plain, "the file reads back before the delete");
            let meta = blobs.meta(id).unwrap().unwrap();
            assert!(meta.split_key);
            let carved = File::open(blobs.path(id)).unwrap();
            assert!(
                opens_chunk_zero(&carved, &meta, &plain),
                "the attack works while the file exists"
            );
            blobs.delete(id).unwrap();
            assert!(!blobs.path(id).exists());
            assert!(
                !opens_chunk_zero(&carved, &meta, &plain),
                "the record and the freed blocks still open the file"
            );
        }
    }

    /// A file is served while it is sealed: a chunk can be read as soon as it is
    /// sealed (and not before), the whole file reads back once committed, and the
    /// staging file is gone.
    #[test]
    fn chunks_are_read_as_they_are_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let plain = content(4 * CHUNK as usize + 10);
        let hashed = blobs.hash(&plain[..], CHUNK).unwrap();
        assert_eq!(hashed.hashes.len(), 5);
        let sealing = std::sync::Arc::new(blobs.begin_sealing(hashed).unwrap());
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let sealer = {
            let sealing = sealing.clone();
            let plain = plain.clone();
            std::thread::spawn(move || {
                sealing.seal_from(&plain[..], |_| {
                    let _ = gate_rx.recv();
                })
            })
        };
        gate_tx.send(()).unwrap();
        assert_eq!(
            sealing.chunk(0).unwrap(),
            plain[..CHUNK as usize],
            "chunk 0 once sealed"
        );
        let reader = {
            let sealing = sealing.clone();
            std::thread::spawn(move || sealing.chunk(4))
        };
        for _ in 0..4 {
            gate_tx.send(()).unwrap();
        }
        assert_eq!(reader.join().unwrap().unwrap(), plain[4 * CHUNK as usize..]);
        sealer.join().unwrap().unwrap();
        let id = OpId { author: ME, seq: 1 };
        blobs.commit_sealing(&sealing, id).unwrap();
        drop(sealing);
        let mut back = Vec::new();
        blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
        let left: Vec<_> = fs::read_dir(blobs.dir()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "only the committed file");
    }

    /// Served from the original before anything is sealed: the chunks are the
    /// file's; a chunk the original no longer holds as hashed is refused, not
    /// served; and a cancel lets the sealing thread, waiting for the fetch to end,
    /// go at once.
    #[test]
    fn chunks_are_served_from_the_original_before_they_are_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let mut plain = content(3 * CHUNK as usize + 7);
        let original = dir.path().join("original.bin");
        fs::write(&original, &plain).unwrap();
        let hashed = blobs.hash(&plain[..], CHUNK).unwrap();
        let sealing = std::sync::Arc::new(
            blobs
                .begin_sealing(hashed)
                .unwrap()
                .serving_from(File::open(&original).unwrap()),
        );
        assert_eq!(sealing.chunk(3).unwrap(), plain[3 * CHUNK as usize..]);
        assert_eq!(
            sealing.chunk(0).unwrap(),
            plain[..CHUNK as usize],
            "nothing sealed, and nothing waited for"
        );

        plain[CHUNK as usize] ^= 1;
        fs::write(&original, &plain).unwrap();
        assert!(sealing.chunk(1).is_err(), "a changed chunk is not served");

        // Just served: the sealing thread waits for the fetch to end; a cancel
        // (the message deleted, the engine stopping) ends the wait.
        let sealer = {
            let sealing = sealing.clone();
            let plain = plain.clone();
            std::thread::spawn(move || sealing.seal_from(&plain[..], |_| {}))
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!sealer.is_finished(), "waits while the partner fetches");
        sealing.cancel();
        assert!(sealer.join().unwrap().is_err());
    }

    /// A file that changed between the two passes is refused, readers waiting for
    /// its chunks are told, and nothing stays behind.
    #[test]
    fn a_file_that_changed_while_sealed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let plain = content(3 * CHUNK as usize);
        let sealing = std::sync::Arc::new(
            blobs
                .begin_sealing(blobs.hash(&plain[..], CHUNK).unwrap())
                .unwrap(),
        );
        let mut changed = plain.clone();
        changed[2 * CHUNK as usize + 7] ^= 1;
        let reader = {
            let sealing = sealing.clone();
            std::thread::spawn(move || sealing.chunk(2))
        };
        assert!(sealing.seal_from(&changed[..], |_| {}).is_err());
        assert!(reader.join().unwrap().is_err());
        assert!(sealing.is_abandoned());
        assert!(
            blobs
                .commit_sealing(&sealing, OpId { author: ME, seq: 1 })
                .is_err()
        );
        drop(sealing);
        assert_eq!(fs::read_dir(blobs.dir()).unwrap().count(), 0);
    }

    /// A file no record names (a crash between the two) is swept at the next
    /// start; one that has its record stays.
    #[test]
    fn files_no_record_names_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let plain = content(CHUNK as usize + 3);
        let (kept, orphan) = (OpId { author: ME, seq: 1 }, OpId { author: ME, seq: 2 });
        for id in [kept, orphan] {
            let staged = blobs.stage(&plain[..], CHUNK).unwrap();
            blobs.commit(staged, id).unwrap();
        }
        blobs
            .inner
            .tree
            .remove(blobs.key(prefix::META, orphan))
            .unwrap();
        let carved = File::open(blobs.path(orphan)).unwrap();
        blobs.sweep().unwrap();
        assert!(blobs.path(kept).exists());
        assert!(!blobs.path(orphan).exists());
        let mut header = [0u8; HEADER_LEN as usize];
        carved.read_exact_at(&mut header, 0).unwrap();
        assert_eq!(
            header, [0u8; HEADER_LEN as usize],
            "its salt was wiped first"
        );
    }

    /// A file written by a build that kept the whole key in its record (no header)
    /// still reads back.
    #[test]
    fn a_file_from_before_split_keys_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let id = OpId { author: ME, seq: 1 };
        let plain = content(2 * CHUNK as usize + 5);
        let key = [9u8; 32];
        let aead = ChunkCipher::new(&key);
        blobs.ensure_dir().unwrap();
        let file = File::create(blobs.path(id)).unwrap();
        let hashes: Vec<[u8; 32]> = plain
            .chunks(CHUNK as usize)
            .map(|c| *blake3::hash(c).as_bytes())
            .collect();
        for (index, chunk) in plain.chunks(CHUNK as usize).enumerate() {
            file.write_all_at(
                &aead.seal(index as u32, chunk),
                slot_offset(CHUNK, index as u32),
            )
            .unwrap();
        }
        let legacy = LegacyMeta {
            id,
            size: plain.len() as u64,
            chunk_size: CHUNK,
            hash: *blake3::hash(&plain).as_bytes(),
            chunks_root: chunks_root(&hashes),
            key,
            complete: true,
            paused: false,
        };
        let record = blobs.key(prefix::META, id);
        blobs
            .inner
            .tree
            .insert(
                &record[..],
                blobs.inner.cipher.seal(&record, &wire::encode(&legacy)),
            )
            .unwrap();
        blobs.put(prefix::HASHES, id, &hashes).unwrap();

        let mut back = Vec::new();
        blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
        assert_eq!(blobs.list().unwrap().len(), 1);
        blobs.delete(id).unwrap();
        assert!(blobs.status(id).unwrap().is_none());
    }

    /// `plain` committed as this device's file, and expected again, with its
    /// manifest, as the download of another message, whose id this returns.
    fn expect_download(blobs: &super::BlobStore, plain: &[u8]) -> OpId {
        let source = OpId { author: ME, seq: 1 };
        let staged = blobs.stage(plain, CHUNK).unwrap();
        let imported = staged.imported();
        blobs.commit(staged, source).unwrap();
        let hashes = blobs.manifest(source).unwrap().unwrap();
        let id = OpId { author: ME, seq: 2 };
        blobs.expect(id, &attachment_of(&imported)).unwrap();
        blobs.set_manifest(id, &hashes).unwrap();
        id
    }

    /// A download whose file went missing (its salt with it) starts over rather
    /// than writing chunks nothing could open.
    #[test]
    fn a_download_whose_file_vanished_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let plain = content(2 * CHUNK as usize);
        let id = expect_download(&blobs, &plain);
        let mut writer = blobs.writer(id).unwrap();
        assert!(writer.write_chunk(0, &plain[..CHUNK as usize]).unwrap());
        writer.checkpoint().unwrap();
        drop(writer);
        fs::remove_file(blobs.path(id)).unwrap();

        let mut writer = blobs.writer(id).unwrap();
        assert_eq!(writer.missing(), vec![0, 1], "nothing counts as held");
        for (index, chunk) in plain.chunks(CHUNK as usize).enumerate() {
            assert!(writer.write_chunk(index as u32, chunk).unwrap());
        }
        writer.finish().unwrap();
        let mut back = Vec::new();
        blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
    }

    /// A checkpoint made durable after more chunks were written records only the
    /// chunks written before it was taken: a restart asks again for the rest.
    #[test]
    fn a_checkpoint_records_what_was_written_when_it_was_taken() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        let plain = content(3 * CHUNK as usize);
        let id = expect_download(&blobs, &plain);

        let mut writer = blobs.writer(id).unwrap();
        // Chunk 0 past the page cache, chunk 2 (out of order) through it.
        direct_or_skip(&mut writer);
        let chunks: Vec<&[u8]> = plain.chunks(CHUNK as usize).collect();
        assert!(writer.write_chunk(0, chunks[0]).unwrap());
        let first = writer.take_checkpoint().unwrap().expect("chunk 0 is new");
        assert!(
            writer.take_checkpoint().unwrap().is_none(),
            "nothing new since"
        );
        assert!(writer.write_chunk(2, chunks[2]).unwrap());
        let flusher = std::thread::spawn(move || first.make_durable());
        assert_eq!(
            flusher.join().unwrap().unwrap(),
            u64::from(CHUNK),
            "durable: chunk 0 only"
        );
        assert_eq!(
            writer.have_bytes(),
            2 * u64::from(CHUNK),
            "held in this run"
        );
        drop(writer);

        let mut writer = blobs.writer(id).unwrap();
        assert_eq!(writer.missing(), vec![1, 2], "only chunk 0 was durable");
        direct_or_skip(&mut writer);
        assert!(writer.write_chunk(1, chunks[1]).unwrap());
        assert!(writer.write_chunk(2, chunks[2]).unwrap());
        writer.finish().unwrap();
        let mut back = Vec::new();
        blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
    }

    /// Writes `writer`'s chunks past the page cache, or says the test ran without
    /// (fails instead with `HEARTH_REQUIRE_DIRECT_IO=1`, as in CI).
    fn direct_or_skip(writer: &mut super::BlobWriter) {
        if !writer.write_past_page_cache() {
            assert!(
                std::env::var_os("HEARTH_REQUIRE_DIRECT_IO").is_none(),
                "the temporary directory takes no direct writes"
            );
            eprintln!("direct writes not available: this test used the page cache");
        }
    }

    /// Chunks that come in order are written past the page cache, a block at a
    /// time with the rest held back; a checkpoint between them still records only
    /// chunks wholly in the file, and a restart resumes (in order again) after them.
    #[test]
    fn a_download_in_order_resumes_after_its_last_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(dir.path(), None).unwrap();
        let blobs = store.blobs();
        // A short last chunk, so the file ends off a block boundary.
        let plain = content(6 * CHUNK as usize + 1234);
        let id = expect_download(&blobs, &plain);
        let chunks: Vec<&[u8]> = plain.chunks(CHUNK as usize).collect();

        let mut writer = blobs.writer(id).unwrap();
        direct_or_skip(&mut writer);
        for (index, chunk) in chunks.iter().enumerate().take(3) {
            assert!(writer.write_chunk(index as u32, *chunk).unwrap());
        }
        writer.checkpoint().unwrap();
        // Written after the checkpoint, then the process dies.
        assert!(writer.write_chunk(3, chunks[3]).unwrap());
        drop(writer);

        let mut writer = blobs.writer(id).unwrap();
        assert_eq!(writer.missing(), vec![3, 4, 5, 6]);
        direct_or_skip(&mut writer);
        for (index, chunk) in chunks.iter().enumerate().skip(3) {
            assert!(writer.write_chunk(index as u32, *chunk).unwrap());
            writer.checkpoint().unwrap();
        }
        writer.finish().unwrap();
        let mut back = Vec::new();
        blobs.reader(id).unwrap().read_to_end(&mut back).unwrap();
        assert!(back == plain, "the file read back differs");
        let sealed = slot_offset(CHUNK, 6) + HEADER_LEN + 1234 + TAG_LEN;
        assert_eq!(fs::metadata(blobs.path(id)).unwrap().len(), sealed);
    }

    /// Files sealed with the portable XChaCha20-Poly1305 open with the fast one,
    /// and the other way round: the bytes are the same.
    #[test]
    fn chunk_cipher_is_xchacha20_poly1305() {
        let key = [7u8; 32];
        let portable = XChaCha20Poly1305::new((&key).into());
        let fast = ChunkCipher::new(&key);
        for (index, len) in [(0u32, 0usize), (1, 1), (5, 1000), (65_535, 70_000)] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + index as usize) as u8).collect();
            let mut nonce = [0u8; 24];
            nonce[..4].copy_from_slice(&index.to_le_bytes());
            let expected = portable
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &plain,
                        aad: CHUNK_AAD,
                    },
                )
                .unwrap_or_default();
            let sealed = fast.seal(index, &plain);
            assert_eq!(sealed, expected, "chunk {index} of {len} bytes");
            assert_eq!(fast.open(index, sealed.clone()), Some(plain.clone()));
            assert_eq!(fast.open(index + 1, sealed), None, "another index's nonce");
        }
    }
}
