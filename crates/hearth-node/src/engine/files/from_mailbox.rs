//! The partner's files arriving as letters from the couple's mailbox: the chunk
//! hashes first (checked against the root the attachment op carries, as a direct
//! download checks them), then chunks, each checked against its hash and written
//! through the file's own [`hearth_store::BlobWriter`], the same way a direct
//! download writes them. A file that a direct download is fetching right now is
//! left to it.

use std::collections::BTreeMap;

use hearth_core::OpId;

use super::super::{Engine, blocking};
use crate::types::*;

/// Chunks collected from the mailbox in one fetch, by file, to write together.
#[derive(Default)]
pub(crate) struct MailboxChunks {
    by_file: BTreeMap<OpId, Vec<(u32, Vec<u8>)>>,
}

impl MailboxChunks {
    pub(crate) fn add(&mut self, id: OpId, index: u32, data: Vec<u8>) {
        self.by_file.entry(id).or_default().push((index, data));
    }
}

/// How writing one file's chunks went.
struct Written {
    received: u64,
    rejected: u32,
    have: u64,
    size: u64,
    /// The whole file's hash, once every chunk is here and it matches.
    done: Option<[u8; 32]>,
}

impl Engine {
    /// Whether chunks of `id` from the mailbox are wanted here now: the download
    /// is queued and not paused, and no direct download is running.
    fn wants_from_mailbox(&self, id: OpId) -> bool {
        !self.files.running.contains_key(&id)
            && self.files.wanted.get(&id).is_some_and(|w| !w.paused)
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

    /// Writes the chunks collected, file by file, and finishes the files now whole.
    pub(in crate::engine) async fn write_mailbox_chunks(&mut self, chunks: &mut MailboxChunks) {
        for (id, list) in std::mem::take(&mut chunks.by_file) {
            if !self.wants_from_mailbox(id) {
                continue;
            }
            let blobs = self.files.blobs.clone();
            let written = blocking(move || -> Result<Written, hearth_store::StoreError> {
                let mut writer = blobs.writer(id)?;
                let (mut received, mut rejected) = (0u64, 0u32);
                for (index, data) in list {
                    if writer.write_chunk(index, &data)? {
                        received += data.len() as u64;
                    } else {
                        rejected += 1;
                    }
                }
                writer.checkpoint()?;
                let (have, size) = (writer.have_bytes(), writer.size());
                let done = if writer.missing().is_empty() {
                    Some(writer.finish()?)
                } else {
                    None
                };
                Ok(Written {
                    received,
                    rejected,
                    have,
                    size,
                    done,
                })
            });
            let written = match written {
                Ok(written) => written,
                Err(e) => {
                    // Left for a direct download, or the next letters.
                    tracing::warn!(error = %e, "could not write chunks from the mailbox");
                    continue;
                }
            };
            if written.rejected > 0 {
                tracing::warn!(
                    chunks = written.rejected,
                    "chunks from the mailbox failed their hash; left for a direct download"
                );
            }
            let Some(hash) = written.done else {
                self.emit(NodeEvent::Transfer {
                    id: MessageId(id),
                    done: written.have,
                    total: written.size,
                    incoming: true,
                })
                .await;
                continue;
            };
            self.files.wanted.remove(&id);
            self.emit(NodeEvent::TransferDone {
                id: MessageId(id),
                blake3: hex(&hash),
                received: written.received,
                rejected_chunks: written.rejected,
            })
            .await;
            if let Ok(Some(message)) = self.store.message(id) {
                self.emit(NodeEvent::MessageChanged(self.view(&message)))
                    .await;
            }
        }
    }
}
