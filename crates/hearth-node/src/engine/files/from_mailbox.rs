//! The partner's files arriving as letters from the couple's mailbox: the chunk
//! hashes first (checked against the root the attachment op carries, as a direct
//! download checks them), then chunks, each checked against its hash and written
//! through the file's own [`hearth_store::BlobWriter`], the same way a direct
//! download writes them.
//!
//! One writer stays open from one letter to the next (a file's chunks come one after
//! another), so the whole file's hash is taken as they arrive and finishing it needs
//! no second read. It is made durable before the mailbox is told to forget the
//! letters, and closed when the partner's device connects: a direct download then
//! takes over from the last chunk written. While it is open, no direct download of
//! that file starts; while a direct download runs, chunks from the mailbox are left
//! to it.

use hearth_core::OpId;
use hearth_store::BlobWriter;

use super::super::{Engine, blocking};
use super::FileInternal;
use super::transfer::{DownloadError, Downloaded};
use crate::types::*;

impl Engine {
    /// Whether chunks of `id` from the mailbox are wanted here now: the partner's
    /// device is not connected (a direct download takes it from where it is), the
    /// download is queued and not paused, and no direct download is running.
    fn wants_from_mailbox(&self, id: OpId) -> bool {
        !self.presence.online
            && !self.files.running.contains_key(&id)
            && self.files.wanted.get(&id).is_some_and(|w| !w.paused)
    }

    /// The file the mailbox is writing, if any: no direct download of it starts.
    pub(in crate::engine) fn mailbox_writing(&self) -> Option<OpId> {
        self.files.from_mailbox.as_ref().map(|(id, _, _)| *id)
    }

    /// The chunk hashes of a file of the partner's, from the mailbox.
    pub(in crate::engine) fn mailbox_manifest(&mut self, id: OpId, hashes: &[[u8; 32]]) {
        if !self.wants_from_mailbox(id) || matches!(self.files.blobs.manifest(id), Ok(Some(_))) {
            return;
        }
        if let Err(e) = self.files.blobs.set_manifest(id, hashes) {
            tracing::warn!(error = %e, "chunk hashes from the mailbox do not match the attachment");
        }
    }

    /// Writes one chunk of a file of the partner's from the mailbox; finishes the
    /// file with its last chunk.
    pub(in crate::engine) async fn mailbox_chunk(&mut self, id: OpId, index: u32, data: Vec<u8>) {
        if self.mailbox_writing().is_some_and(|open| open != id) {
            self.close_mailbox_writer();
        }
        if !self.wants_from_mailbox(id) {
            return;
        }
        if self.files.from_mailbox.is_none() {
            let blobs = self.files.blobs.clone();
            match blocking(move || blobs.writer(id)) {
                Ok(writer) => self.files.from_mailbox = Some((id, writer, 0)),
                Err(e) => {
                    tracing::warn!(error = %e, "could not open a file for chunks from the mailbox");
                    return;
                }
            }
        }
        let Some((_, writer, received)) = self.files.from_mailbox.as_mut() else {
            return;
        };
        let good = match blocking(|| writer.write_chunk(index, data.as_slice())) {
            Ok(good) => good,
            Err(e) => {
                // Left for a direct download, or the next letters.
                tracing::warn!(error = %e, "could not write a chunk from the mailbox");
                self.files.from_mailbox = None;
                return;
            }
        };
        if good {
            *received += data.len() as u64;
        } else {
            tracing::warn!(
                chunk = index,
                "a chunk from the mailbox failed its hash; left for a direct download"
            );
        }
        let (have, size, received) = (writer.have_bytes(), writer.size(), *received);
        if !writer.missing().is_empty() {
            self.emit(NodeEvent::Transfer {
                id: MessageId(id),
                done: have,
                total: size,
                incoming: true,
            })
            .await;
            return;
        }
        // Whole: recorded now (before the mailbox may forget the letters), then
        // checked on a blocking thread (a resumed file is read back for its hash),
        // reported as a download that ended.
        let Some((_, mut writer, _)) = self.files.from_mailbox.take() else {
            return;
        };
        if let Err(e) = blocking(|| writer.checkpoint()) {
            tracing::warn!(error = %e, "could not record chunks from the mailbox");
            return;
        }
        let internal = self.internal_tx.clone();
        let task = self.spawn(async move {
            let result = tokio::task::spawn_blocking(move || writer.finish())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(|hash| Downloaded {
                    hash,
                    received,
                    rejected: 0,
                })
                .map_err(DownloadError::Failed);
            let _ = internal
                .send(FileInternal::DownloadEnded { id, result }.into())
                .await;
        });
        // Counted as running: no direct download of it starts meanwhile.
        self.files.running.insert(id, task);
    }

    /// Makes the chunks written so far durable and recorded: before the mailbox may
    /// forget them.
    pub(in crate::engine) fn checkpoint_mailbox_writer(&mut self) {
        if let Some((_, writer, _)) = self.files.from_mailbox.as_mut()
            && let Err(e) = blocking(|| writer.checkpoint())
        {
            tracing::warn!(error = %e, "could not record chunks from the mailbox");
            self.files.from_mailbox = None;
        }
    }

    /// Records and lets go of the file the mailbox was writing: the partner's
    /// device is here, or another file's chunks came.
    pub(in crate::engine) fn close_mailbox_writer(&mut self) {
        self.checkpoint_mailbox_writer();
        self.files.from_mailbox = None;
    }
}

/// The writer the mailbox keeps open, as the files room holds it: the file, its
/// writer, and the bytes written through it.
pub(crate) type MailboxWriter = Option<(OpId, BlobWriter, u64)>;
