//! Backups: a profile's history in one file a user keeps, encrypted under a
//! passphrase, in a format of its own (not sled's layout), documented in
//! `docs/backup.md`.
//!
//! ```text
//! "HEARTHBK"  version (1 byte)  header length (u32 LE)  header (postcard)
//! then records: length (u32 LE)  sealed record
//! ```
//!
//! The header holds the Argon2id parameters and salt the key is derived with, a
//! random 16-byte nonce prefix and the time of the backup. Record `i` is sealed with
//! XChaCha20-Poly1305 under that key, nonce = prefix ‖ `i` (u64, big-endian), with
//! the header and whether it is the last record as associated data: a record that
//! was changed, moved, dropped or added, a header that was changed, and a file cut
//! short are all refused. The last record is `End`, which counts the records before
//! it.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hearth_core::{DeviceId, OpId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::KdfParams;

/// The first bytes of every backup.
pub const MAGIC: &[u8; 8] = b"HEARTHBK";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Largest record, sealed.
const MAX_RECORD: usize = 8 * 1024 * 1024;
const MAX_HEADER: usize = 1024;
const AAD_LABEL: &[u8] = b"hearth-backup-v1";

#[derive(Clone, Serialize, Deserialize)]
struct Header {
    kdf: KdfParams,
    salt: [u8; 16],
    nonce_prefix: [u8; 16],
    created_at_ms: i64,
}

/// One record of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A setting of the profile (identity, keys, profile, partner, preferences),
    /// as the store keeps it before sealing.
    Setting {
        /// Its name.
        name: String,
        /// Its value.
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
    /// Ops of both logs in Lamport order (each log in its own order), each as
    /// `hearth_core::wire::encode_op` writes it.
    Ops(Vec<serde_bytes::ByteBuf>),
    /// How far the partner acknowledged each log.
    Acked(Vec<(DeviceId, u64)>),
    /// A file follows, chunk by chunk: the attachment of message `id`.
    File {
        /// The attachment.
        id: OpId,
        /// Its size in bytes.
        size: u64,
        /// Its chunk size.
        chunk_size: u32,
        /// BLAKE3 of the whole file.
        hash: [u8; 32],
        /// BLAKE3 of its chunk hashes.
        chunks_root: [u8; 32],
    },
    /// One chunk of the file announced last, in order.
    Chunk {
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// The last record: how many came before it.
    End {
        /// Records before this one.
        records: u64,
    },
}

/// Why a backup could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file does not start like a Hearth backup.
    #[error("this is not a Hearth backup")]
    NotABackup,
    /// Written by a newer Hearth.
    #[error("this backup was made by a newer Hearth (format {0})")]
    NewerFormat(u8),
    /// The passphrase does not open it (or its first bytes were changed).
    #[error("the passphrase does not open this backup")]
    WrongPassphrase,
    /// Changed, cut short or out of order somewhere after its start.
    #[error("this backup is damaged ({0}); nothing was restored from it")]
    Damaged(&'static str),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Deriving the key failed (parameters out of range).
    #[error("the backup's key could not be derived: {0}")]
    Kdf(String),
}

fn derive(passphrase: &str, header: &Header) -> Result<XChaCha20Poly1305, BackupError> {
    let key = crate::keys::wrapping_key(passphrase, &header.salt, header.kdf)
        .map_err(BackupError::Kdf)?;
    Ok(XChaCha20Poly1305::new(key.as_ref().into()))
}

fn nonce(prefix: &[u8; 16], index: u64) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&index.to_be_bytes());
    nonce
}

fn aad(header: &[u8], last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + header.len() + 1);
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(header);
    aad.push(u8::from(last));
    aad
}

/// Writes a backup, record by record.
pub struct BackupWriter<W: Write> {
    out: W,
    aead: XChaCha20Poly1305,
    header: Header,
    header_bytes: Vec<u8>,
    index: u64,
    /// Bytes written so far.
    pub written: u64,
}

impl<W: Write> BackupWriter<W> {
    /// Starts a backup into `out`, under a key derived from `passphrase`.
    pub fn new(
        mut out: W,
        passphrase: &str,
        kdf: KdfParams,
        now_ms: i64,
    ) -> Result<Self, BackupError> {
        let mut header = Header {
            kdf,
            salt: [0; 16],
            nonce_prefix: [0; 16],
            created_at_ms: now_ms,
        };
        rand::thread_rng().fill_bytes(&mut header.salt);
        rand::thread_rng().fill_bytes(&mut header.nonce_prefix);
        let header_bytes =
            postcard::to_allocvec(&header).map_err(|_| BackupError::Damaged("header"))?;
        let aead = derive(passphrase, &header)?;
        out.write_all(MAGIC)?;
        out.write_all(&[FORMAT_VERSION])?;
        out.write_all(&(header_bytes.len() as u32).to_le_bytes())?;
        out.write_all(&header_bytes)?;
        let written = (MAGIC.len() + 5 + header_bytes.len()) as u64;
        Ok(BackupWriter {
            out,
            aead,
            header,
            header_bytes,
            index: 0,
            written,
        })
    }

    fn seal(&mut self, record: &Record, last: bool) -> Result<(), BackupError> {
        let plain = Zeroizing::new(
            postcard::to_allocvec(record).map_err(|_| BackupError::Damaged("a record"))?,
        );
        let nonce = nonce(&self.header.nonce_prefix, self.index);
        let sealed = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &aad(&self.header_bytes, last),
                },
            )
            .map_err(|_| BackupError::Damaged("a record too large"))?;
        if sealed.len() > MAX_RECORD {
            return Err(BackupError::Damaged("a record too large"));
        }
        self.out.write_all(&(sealed.len() as u32).to_le_bytes())?;
        self.out.write_all(&sealed)?;
        self.written += 4 + sealed.len() as u64;
        self.index += 1;
        Ok(())
    }

    /// Adds a record.
    pub fn write(&mut self, record: &Record) -> Result<(), BackupError> {
        if matches!(record, Record::End { .. }) {
            return Err(BackupError::Damaged("End is written by finish"));
        }
        self.seal(record, false)
    }

    /// Writes the last record and returns the output.
    pub fn finish(mut self) -> Result<W, BackupError> {
        let records = self.index;
        self.seal(&Record::End { records }, true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a backup, record by record, checking each.
pub struct BackupReader<R: Read> {
    input: R,
    aead: XChaCha20Poly1305,
    header: Header,
    header_bytes: Vec<u8>,
    index: u64,
    ended: bool,
    /// Bytes read so far.
    pub read: u64,
}

impl<R: Read> BackupReader<R> {
    /// Opens a backup with `passphrase`: the format and the passphrase are checked
    /// here (on the first record), the rest as it is read.
    pub fn open(mut input: R, passphrase: &str) -> Result<BackupReader<R>, BackupError> {
        let mut start = [0u8; 13];
        input
            .read_exact(&mut start)
            .map_err(|_| BackupError::NotABackup)?;
        if &start[..8] != MAGIC {
            return Err(BackupError::NotABackup);
        }
        if start[8] != FORMAT_VERSION {
            return Err(BackupError::NewerFormat(start[8]));
        }
        let len = u32::from_le_bytes([start[9], start[10], start[11], start[12]]) as usize;
        if len > MAX_HEADER {
            return Err(BackupError::NotABackup);
        }
        let mut header_bytes = vec![0u8; len];
        input
            .read_exact(&mut header_bytes)
            .map_err(|_| BackupError::NotABackup)?;
        let header: Header =
            postcard::from_bytes(&header_bytes).map_err(|_| BackupError::NotABackup)?;
        // The header is not authenticated before the key exists: costs beyond what
        // a profile may use are refused before any memory is spent on them.
        header.kdf.check().map_err(BackupError::Kdf)?;
        let aead = derive(passphrase, &header)?;
        Ok(BackupReader {
            input,
            aead,
            header,
            header_bytes,
            index: 0,
            ended: false,
            read: (13 + len) as u64,
        })
    }

    /// When the backup was made, ms since the Unix epoch.
    pub fn created_at_ms(&self) -> i64 {
        self.header.created_at_ms
    }

    /// The next record; `None` once the last one was read and checked.
    pub fn next_record(&mut self) -> Result<Option<Record>, BackupError> {
        if self.ended {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.input
            .read_exact(&mut len)
            .map_err(|_| BackupError::Damaged("it ends before its last record"))?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_RECORD {
            return Err(BackupError::Damaged("a record over the limit"));
        }
        let mut sealed = vec![0u8; len];
        self.input
            .read_exact(&mut sealed)
            .map_err(|_| BackupError::Damaged("it ends in the middle of a record"))?;
        self.read += 4 + len as u64;
        let nonce = nonce(&self.header.nonce_prefix, self.index);
        let open = |last| {
            self.aead
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &aad(&self.header_bytes, last),
                    },
                )
                .ok()
        };
        let (plain, last) = match (open(false), open(true)) {
            (Some(plain), _) => (plain, false),
            (None, Some(plain)) => (plain, true),
            (None, None) if self.index == 0 => return Err(BackupError::WrongPassphrase),
            (None, None) => return Err(BackupError::Damaged("a record does not open")),
        };
        let plain = Zeroizing::new(plain);
        let record: Record = postcard::from_bytes(&plain)
            .map_err(|_| BackupError::Damaged("a record does not decode"))?;
        match (&record, last) {
            (Record::End { records }, true) if *records == self.index => {
                self.ended = true;
                Ok(None)
            }
            (Record::End { .. }, _) | (_, true) => Err(BackupError::Damaged("its last record")),
            _ => {
                self.index += 1;
                Ok(Some(record))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> KdfParams {
        KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn sample() -> Vec<u8> {
        let mut writer = BackupWriter::new(Vec::new(), "long walks", quick(), 1).unwrap();
        writer
            .write(&Record::Setting {
                name: "profile".into(),
                value: b"Arta".to_vec(),
            })
            .unwrap();
        writer
            .write(&Record::Acked(vec![(DeviceId([1; 32]), 4)]))
            .unwrap();
        writer.finish().unwrap()
    }

    fn read_all(bytes: &[u8], passphrase: &str) -> Result<Vec<Record>, BackupError> {
        let mut reader = BackupReader::open(bytes, passphrase)?;
        let mut records = Vec::new();
        while let Some(record) = reader.next_record()? {
            records.push(record);
        }
        Ok(records)
    }

    #[test]
    fn a_backup_reads_back_with_its_passphrase_only() {
        let bytes = sample();
        assert_eq!(read_all(&bytes, "long walks").unwrap().len(), 2);
        assert!(matches!(
            read_all(&bytes, "short walks"),
            Err(BackupError::WrongPassphrase)
        ));
        assert!(matches!(
            read_all(b"PK\x03\x04 zip", "x"),
            Err(BackupError::NotABackup)
        ));
        // No plaintext in it.
        assert!(!bytes.windows(4).any(|w| w == b"Arta"));
    }

    #[test]
    fn a_changed_cut_or_reordered_backup_is_refused() {
        let bytes = sample();
        // Cut before its last record.
        let cut = &bytes[..bytes.len() - 10];
        assert!(matches!(
            read_all(cut, "long walks"),
            Err(BackupError::Damaged(_))
        ));
        // A flipped byte in the second record.
        let mut flipped = bytes.clone();
        let at = bytes.len() - 60;
        flipped[at] ^= 1;
        assert!(matches!(
            read_all(&flipped, "long walks"),
            Err(BackupError::Damaged(_))
        ));
        // A changed header: nothing opens.
        let mut header = bytes.clone();
        header[20] ^= 1;
        assert!(read_all(&header, "long walks").is_err());
        // A newer format.
        let mut newer = bytes;
        newer[8] = FORMAT_VERSION + 1;
        assert!(matches!(
            read_all(&newer, "long walks"),
            Err(BackupError::NewerFormat(_))
        ));
    }
}

/// Ops per `Ops` record.
const OPS_PER_RECORD: usize = 512;

/// What a backup holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Ops of both logs.
    pub ops: u64,
    /// Files.
    pub files: u64,
    /// Settings.
    pub settings: u64,
    /// Bytes of the backup file.
    pub bytes: u64,
}

/// A profile as it stood when [`crate::Store::backup_source`] was called, readable
/// from another thread while the engine goes on: both logs up to what was held then,
/// the settings then, and the files named.
pub struct BackupSource {
    pub(crate) ops: crate::store::OpsReader,
    pub(crate) held: Vec<(DeviceId, u64)>,
    pub(crate) acked: Vec<(DeviceId, u64)>,
    pub(crate) settings: Vec<(String, Vec<u8>)>,
    pub(crate) blobs: crate::BlobStore,
}

impl BackupSource {
    /// Bytes of the files it will copy, for progress.
    pub fn file_bytes(&self, files: &[OpId]) -> u64 {
        files
            .iter()
            .filter_map(|id| self.blobs.status(*id).ok().flatten())
            .map(|s| s.size)
            .sum()
    }

    /// Writes everything into `writer`, then the files of `files` that are whole
    /// here; `progress` hears the bytes of files copied so far.
    pub fn write<W: Write>(
        self,
        writer: &mut BackupWriter<W>,
        files: &[OpId],
        mut progress: impl FnMut(u64),
    ) -> Result<BackupSummary, BackupError> {
        let mut summary = BackupSummary::default();
        for (name, value) in &self.settings {
            writer.write(&Record::Setting {
                name: name.clone(),
                value: value.clone(),
            })?;
            summary.settings += 1;
        }
        let store = |e: crate::StoreError| BackupError::Io(io::Error::other(e.to_string()));
        // Both logs interleaved in Lamport order, as they happened: a reply, a
        // reaction or a read marker comes after the message it names, so restoring
        // applies each with its effect.
        let mut logs: Vec<Log> = self
            .held
            .iter()
            .map(|&(author, held)| Log {
                author,
                held,
                after: 0,
                queue: std::collections::VecDeque::new(),
            })
            .collect();
        let mut record = Vec::new();
        loop {
            for log in &mut logs {
                log.refill(&self.ops).map_err(store)?;
            }
            let next = logs
                .iter_mut()
                .filter(|log| !log.queue.is_empty())
                .min_by_key(|log| log.queue.front().map(|op| (op.lamport, op.id.author)));
            let Some(op) = next.and_then(|log| log.queue.pop_front()) else {
                break;
            };
            record.push(serde_bytes::ByteBuf::from(hearth_core::wire::encode_op(
                &op,
            )));
            summary.ops += 1;
            if record.len() == OPS_PER_RECORD {
                writer.write(&Record::Ops(std::mem::take(&mut record)))?;
            }
        }
        if !record.is_empty() {
            writer.write(&Record::Ops(record))?;
        }
        writer.write(&Record::Acked(self.acked.clone()))?;
        let mut copied = 0u64;
        for &id in files {
            let (Ok(reader), Ok(Some(status))) = (self.blobs.reader(id), self.blobs.status(id))
            else {
                // Gone meanwhile (deleted, or not whole): not in the backup.
                continue;
            };
            writer.write(&Record::File {
                id,
                size: reader.size(),
                chunk_size: reader.chunk_size(),
                hash: status.hash,
                chunks_root: status.chunks_root,
            })?;
            for index in 0..reader.chunk_count() {
                let data = reader.chunk(index).map_err(store)?;
                copied += data.len() as u64;
                writer.write(&Record::Chunk { data })?;
                progress(copied);
            }
            summary.files += 1;
        }
        summary.bytes = writer.written;
        Ok(summary)
    }
}

/// Any error as damage of the kind `why` names.
fn damaged<E>(why: &'static str) -> impl FnOnce(E) -> BackupError {
    move |_| BackupError::Damaged(why)
}

/// One log being read for a backup, a batch at a time.
struct Log {
    author: DeviceId,
    held: u64,
    after: u64,
    queue: std::collections::VecDeque<hearth_core::Op>,
}

impl Log {
    /// Reads the next batch once the last is used up.
    fn refill(&mut self, ops: &crate::store::OpsReader) -> Result<(), crate::StoreError> {
        if !self.queue.is_empty() || self.after >= self.held {
            return Ok(());
        }
        let limit = OPS_PER_RECORD.min((self.held - self.after) as usize);
        let batch = ops.ops_after(self.author, self.after, limit)?;
        match batch.last() {
            Some(last) => self.after = last.id.seq,
            // Fewer than held: nothing more to read.
            None => self.after = self.held,
        }
        self.queue.extend(batch);
        Ok(())
    }
}

/// Feeds one file's chunks from the backup to the file store.
struct Chunks<'a, R: Read> {
    reader: &'a mut BackupReader<R>,
    left: u64,
    buf: Vec<u8>,
    at: usize,
}

impl<R: Read> Read for Chunks<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.buf.len() {
            if self.left == 0 {
                return Ok(0);
            }
            match self.reader.next_record() {
                Ok(Some(Record::Chunk { data })) if data.len() as u64 <= self.left => {
                    self.left -= data.len() as u64;
                    self.buf = data;
                    self.at = 0;
                }
                Ok(_) => return Err(io::Error::other("a file's chunks are missing")),
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl crate::Store {
    /// Fills this store, new and empty, from a backup: settings, both logs (checked
    /// as any op is), acknowledgements, and files (each checked against the hash its
    /// message carries). `progress` hears the backup's bytes read so far.
    pub fn restore_from<R: Read>(
        &mut self,
        reader: &mut BackupReader<R>,
        mut progress: impl FnMut(u64),
    ) -> Result<BackupSummary, BackupError> {
        let mut summary = BackupSummary::default();
        while let Some(record) = reader.next_record()? {
            match record {
                Record::Setting { name, value } => {
                    self.set_setting_raw(&name, &value)
                        .map_err(damaged("a setting"))?;
                    summary.settings += 1;
                }
                Record::Ops(encoded) => {
                    let ops = encoded
                        .iter()
                        .map(|bytes| hearth_core::wire::decode_op(bytes))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(damaged("an op"))?;
                    self.apply_remote(&ops).map_err(damaged("a log"))?;
                    summary.ops += ops.len() as u64;
                }
                Record::Acked(acked) => {
                    for (author, up_to) in acked {
                        self.set_acked(author, up_to.min(self.held(author)))
                            .map_err(damaged("an acknowledgement"))?;
                    }
                }
                Record::File {
                    id,
                    size,
                    chunk_size,
                    hash,
                    chunks_root,
                } => {
                    let attachment = self
                        .message(id)
                        .ok()
                        .flatten()
                        .and_then(|m| m.attachment().cloned())
                        .ok_or(BackupError::Damaged("a file without its message"))?;
                    // A message written before its file was read carries its hashes
                    // in a later op; the backup's own (sealed) hashes are checked.
                    let matches_message = attachment.is_pending()
                        || (attachment.hash == hash && attachment.chunks_root == chunks_root);
                    if attachment.size != size || !matches_message {
                        return Err(BackupError::Damaged(
                            "a file that does not match its message",
                        ));
                    }
                    let blobs = self.blobs();
                    let chunks = Chunks {
                        reader: &mut *reader,
                        left: size,
                        buf: Vec::new(),
                        at: 0,
                    };
                    let staged = blobs.stage(chunks, chunk_size).map_err(damaged("a file"))?;
                    let imported = staged.imported();
                    if imported.hash != hash || imported.chunks_root != chunks_root {
                        return Err(BackupError::Damaged(
                            "a file that does not match its hashes",
                        ));
                    }
                    blobs.commit(staged, id).map_err(damaged("a file"))?;
                    summary.files += 1;
                }
                Record::Chunk { .. } => return Err(BackupError::Damaged("a chunk out of place")),
                // Read by `next_record`, never returned.
                Record::End { .. } => {}
            }
            progress(reader.read);
        }
        self.flush()
            .map_err(damaged("the profile could not be written"))?;
        summary.bytes = reader.read;
        Ok(summary)
    }
}
