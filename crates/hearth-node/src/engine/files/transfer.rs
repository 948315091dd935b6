//! Moving attachments' bytes on `/hearth/file/2`, in [`FileFrame`]s.
//!
//! The receiver opens a stream and asks: first for the file's chunk hashes (checked
//! against the root its attachment op carries), then for the chunks it lacks. The
//! sender streams them and marks the end of the round; the receiver verifies each
//! chunk's BLAKE3 before it is written, and asks again for any that failed. Chunks are
//! made durable and recorded every few MiB, so a download cut off by a disconnect or
//! a crash resumes from the last recorded chunk.
//!
//! Disk and crypto work runs on blocking threads, one on each side, so the network
//! task keeps reading while chunks are sealed and written; the chat's own stream is
//! never behind a file's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hearth_core::wire::{self, FileFrame};
use hearth_core::{DeviceId, OpId};
use hearth_net::{FramedStream, Net, Protocol};
use hearth_store::{BlobReader, BlobStore, BlobWriter, Checkpoint, Sealing};
use tokio::sync::{mpsc, oneshot};

use super::FileInternal;
use crate::Faults;
use crate::engine::Internal;

/// Chunks of new attachments.
pub(crate) const CHUNK_BYTES: u32 = 1024 * 1024;
/// How often progress is made durable (and reported). Each fsync of a file still
/// growing commits the file system's journal: every 4 MiB took a third of the
/// disk's speed here, every 16 MiB a tenth.
const CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// How often the serving side reports progress.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Rounds in a row that bring no new chunk before the download gives up for now.
const MAX_IDLE_ROUNDS: u32 = 3;
/// Chunks read ahead of the network by the serving side.
const READ_AHEAD: usize = 4;
/// How long reaching the partner's device may take before a download waits for
/// the next try.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a serving side waits for the next request before it lets the stream go.
const SERVE_IDLE: Duration = Duration::from_secs(120);

/// This device's files announced and still being sealed, by message: served from
/// the [`Sealing`] as its chunks are sealed. Shared by the engine (which adds and
/// removes them) and the tasks serving the partner.
#[derive(Clone, Default)]
pub(crate) struct SealingNow(Arc<std::sync::Mutex<std::collections::HashMap<OpId, Arc<Sealing>>>>);

impl SealingNow {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<OpId, Arc<Sealing>>> {
        // A plain map: a panic elsewhere leaves it usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, id: OpId, sealing: Arc<Sealing>) {
        self.map().insert(id, sealing);
    }

    pub(crate) fn remove(&self, id: OpId) -> Option<Arc<Sealing>> {
        self.map().remove(&id)
    }

    fn get(&self, id: OpId) -> Option<Arc<Sealing>> {
        self.map().get(&id).cloned()
    }

    pub(crate) fn contains(&self, id: OpId) -> bool {
        self.map().contains_key(&id)
    }

    /// Stops every sealing and what is served from it.
    pub(crate) fn cancel_all(&self) {
        self.map().values().for_each(|sealing| sealing.cancel());
    }
}

/// Where the chunks served come from: the sealed file, or one still being sealed.
enum Source {
    Sealed(Box<BlobReader>),
    Sealing(Arc<Sealing>),
}

impl Source {
    fn size(&self) -> u64 {
        match self {
            Source::Sealed(reader) => reader.size(),
            Source::Sealing(sealing) => sealing.imported().size,
        }
    }

    fn chunk_count(&self) -> u32 {
        match self {
            Source::Sealed(reader) => reader.chunk_count(),
            Source::Sealing(sealing) => sealing.chunk_count(),
        }
    }

    fn chunk_len(&self, index: u32) -> u64 {
        match self {
            Source::Sealed(reader) => reader.chunk_len(index),
            Source::Sealing(sealing) => sealing.chunk_len(index),
        }
    }

    /// Chunk `index` (see [`Sealing::chunk`] for a file not sealed yet).
    fn chunk(&self, index: u32) -> Result<Vec<u8>, hearth_store::StoreError> {
        match self {
            Source::Sealed(reader) => reader.chunk(index),
            Source::Sealing(sealing) => sealing.chunk(index),
        }
    }

    /// Whether it may still be served: not deleted (being sealed: not stopped, and
    /// still being sealed or committed since).
    fn still_here(&self, files: &Files<'_>, id: OpId) -> bool {
        let in_store = || matches!(files.blobs.status(id), Ok(Some(_)));
        match self {
            Source::Sealed(_) => in_store(),
            Source::Sealing(sealing) => {
                !sealing.is_abandoned() && (files.sealing.contains(id) || in_store())
            }
        }
    }
}

async fn send(stream: &mut FramedStream, frame: &FileFrame) -> Result<(), hearth_net::FrameError> {
    match tokio::time::timeout(crate::FRAME_TIMEOUT, stream.send(&wire::encode(frame))).await {
        Ok(result) => result,
        Err(_) => Err(hearth_net::FrameError::Closed),
    }
}

/// The next message from the other side within `wait`; one that does not decode, or
/// does not come, ends the talk.
async fn recv(stream: &mut FramedStream, wait: Duration) -> Result<FileFrame, DownloadError> {
    let bytes = tokio::time::timeout(wait, stream.recv())
        .await
        .map_err(|_| failed("the partner's device stopped answering"))?
        .map_err(failed)?;
    wire::decode_file(&bytes)
        .map_err(|e| failed(format!("the partner's device answered with nonsense ({e})")))
}

/// How a download ended well.
#[derive(Debug)]
pub(crate) struct Downloaded {
    pub(crate) hash: [u8; 32],
    pub(crate) received: u64,
    pub(crate) rejected: u32,
}

/// Why a download stopped.
#[derive(Debug)]
pub(crate) enum DownloadError {
    /// The partner does not have the file (any more).
    Unavailable(String),
    /// Anything else: the connection, the disk. Worth trying again later.
    Failed(String),
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownloadError::Unavailable(why) => {
                write!(f, "the partner's device cannot send it: {why}")
            }
            DownloadError::Failed(why) => f.write_str(why),
        }
    }
}

fn failed(e: impl std::fmt::Display) -> DownloadError {
    DownloadError::Failed(e.to_string())
}

enum ToWriter {
    Chunk(u32, Vec<u8>),
    /// Everything sent before has been handled: report what is still missing.
    Sync(oneshot::Sender<Vec<u32>>),
}

/// Fetches the file of attachment `id` from the partner, resuming where an earlier
/// run stopped, and tells the engine how it went.
pub(crate) async fn download(
    net: Net,
    partner: DeviceId,
    blobs: BlobStore,
    id: OpId,
    internal: mpsc::Sender<Internal>,
    wait: Duration,
) {
    let result = run_download(&net, partner, &blobs, id, &internal, wait).await;
    let _ = internal
        .send(FileInternal::DownloadEnded { id, result }.into())
        .await;
}

async fn run_download(
    net: &Net,
    partner: DeviceId,
    blobs: &BlobStore,
    id: OpId,
    internal: &mpsc::Sender<Internal>,
    wait: Duration,
) -> Result<Downloaded, DownloadError> {
    let mut stream = tokio::time::timeout(OPEN_TIMEOUT, net.open(partner, Protocol::File))
        .await
        .map_err(|_| failed("the partner's device could not be reached"))?
        .map_err(failed)?;
    if blobs.manifest(id).map_err(failed)?.is_none() {
        send(&mut stream, &FileFrame::GetManifest(id))
            .await
            .map_err(failed)?;
        match recv(&mut stream, wait).await? {
            FileFrame::Manifest(hashes) => blobs.set_manifest(id, &hashes).map_err(failed)?,
            FileFrame::Unavailable(why) => return Err(DownloadError::Unavailable(why)),
            _ => return Err(failed("the partner's device answered with nonsense")),
        }
    }
    let writer = {
        let blobs = blobs.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = blobs.writer(id)?;
            // The whole file comes at once: past the page cache where possible.
            writer.write_past_page_cache();
            Ok::<_, hearth_store::StoreError>(writer)
        })
        .await
        .map_err(failed)?
        .map_err(failed)?
    };
    let size = writer.size();
    let (to_writer, rx) = mpsc::channel(8);
    let progress = internal.clone();
    let worker = tokio::task::spawn_blocking(move || write_chunks(writer, rx, id, progress));

    let mut received = 0u64;
    let mut idle_rounds = 0;
    let mut last_missing: Option<usize> = None;
    let outcome = async {
        loop {
            let (tx, missing) = oneshot::channel();
            to_writer
                .send(ToWriter::Sync(tx))
                .await
                .map_err(|_| failed("the file could not be written"))?;
            let missing = missing
                .await
                .map_err(|_| failed("the file could not be written"))?;
            if missing.is_empty() {
                return Ok(());
            }
            // Nothing more held than after the last round: every chunk it brought
            // was damaged (or not what was announced).
            match last_missing {
                Some(before) if missing.len() >= before => idle_rounds += 1,
                Some(_) => idle_rounds = 0,
                None => {}
            }
            last_missing = Some(missing.len());
            if idle_rounds >= MAX_IDLE_ROUNDS {
                return Err(failed("the partner's device keeps sending damaged chunks"));
            }
            let asked = missing.len();
            send(
                &mut stream,
                &FileFrame::GetChunks {
                    id,
                    chunks: missing,
                },
            )
            .await
            .map_err(failed)?;
            let mut got = 0usize;
            loop {
                match recv(&mut stream, wait).await? {
                    FileFrame::Chunk { index, data } => {
                        received += data.len() as u64;
                        got += 1;
                        to_writer
                            .send(ToWriter::Chunk(index, data))
                            .await
                            .map_err(|_| failed("the file could not be written"))?;
                    }
                    FileFrame::End => break,
                    FileFrame::Unavailable(why) => return Err(DownloadError::Unavailable(why)),
                    _ => return Err(failed("the partner's device answered with nonsense")),
                }
            }
            // A round that brought fewer chunks than asked for is idle; one that
            // brought them all is progress only if the next Sync finds fewer missing.
            if got < asked {
                idle_rounds += 1;
            }
        }
    }
    .await;
    drop(to_writer);
    let (writer, rejected) = worker.await.map_err(failed)?.map_err(failed)?;
    if let Err(e) = outcome {
        // Dropping it waits for what it still writes: not on an async worker.
        let _ = tokio::task::spawn_blocking(move || drop(writer)).await;
        return Err(e);
    }
    let hash = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(failed)?
        .map_err(failed)?;
    tracing::info!(file = %crate::MessageId(id), size, received, rejected, "file arrived");
    Ok(Downloaded {
        hash,
        received,
        rejected,
    })
}

/// The blocking side of a download: verifies, seals and writes chunks. What is
/// written is made durable every few MiB (and reported as progress) by a second thread
/// while writing goes on (the disk flushes while the network brings the next
/// chunks), in the order it was written; a restart resumes after the last chunks
/// made durable. Returns once everything written is durable.
fn write_chunks(
    mut writer: BlobWriter,
    mut rx: mpsc::Receiver<ToWriter>,
    id: OpId,
    progress: mpsc::Sender<Internal>,
) -> Result<(BlobWriter, u32), hearth_store::StoreError> {
    let total = writer.size();
    // Progress is what is on disk for good: what a restart would not fetch again.
    let report = move |done: u64| {
        let _ = progress.try_send(
            FileInternal::Progress {
                id,
                done,
                total,
                incoming: true,
            }
            .into(),
        );
    };
    // One checkpoint waiting while one is flushed: a disk slower than the network
    // holds the writer back, and so the partner's sending.
    let (to_disk, checkpoints) = std::sync::mpsc::sync_channel::<Checkpoint>(1);
    std::thread::scope(|scope| {
        let flusher = scope.spawn(move || {
            for checkpoint in checkpoints {
                report(checkpoint.make_durable()?);
            }
            Ok::<(), hearth_store::StoreError>(())
        });
        let hand_over = |writer: &mut BlobWriter| -> Result<(), hearth_store::StoreError> {
            if let Some(checkpoint) = writer.take_checkpoint()?
                && to_disk.send(checkpoint).is_err()
            {
                // The flusher stopped on an error, which joining it returns.
                return Err(hearth_store::StoreError::Files(
                    "the file could not be made durable".into(),
                ));
            }
            Ok(())
        };
        let written: Result<u32, hearth_store::StoreError> = (|| {
            let mut rejected = 0u32;
            let mut since_checkpoint = 0u64;
            let mut last_checkpoint = Instant::now();
            while let Some(message) = rx.blocking_recv() {
                match message {
                    ToWriter::Chunk(index, data) => {
                        let len = data.len() as u64;
                        if writer.write_chunk(index, data)? {
                            since_checkpoint += len;
                        } else {
                            rejected += 1;
                            tracing::warn!(file = %crate::MessageId(id), index, "a chunk failed its hash check; asking again");
                        }
                        if since_checkpoint >= CHECKPOINT_BYTES
                            || last_checkpoint.elapsed() >= CHECKPOINT_EVERY
                        {
                            hand_over(&mut writer)?;
                            since_checkpoint = 0;
                            last_checkpoint = Instant::now();
                        }
                    }
                    ToWriter::Sync(reply) => {
                        hand_over(&mut writer)?;
                        since_checkpoint = 0;
                        let _ = reply.send(writer.missing());
                    }
                }
            }
            Ok(rejected)
        })();
        drop(to_disk);
        let flushed = flusher.join().unwrap_or_else(|_| {
            Err(hearth_store::StoreError::Files(
                "the file could not be made durable".into(),
            ))
        });
        // A flusher's error first: the writer's refusal to go on after it says less.
        flushed?;
        let rejected = written?;
        Ok((writer, rejected))
    })
}

/// Answers the partner's requests for the files of this device's attachments.
pub(crate) async fn serve(
    mut stream: FramedStream,
    blobs: BlobStore,
    sealing: SealingNow,
    me: DeviceId,
    faults: Arc<ServeFaults>,
    internal: mpsc::Sender<Internal>,
) {
    while let Ok(Ok(bytes)) = tokio::time::timeout(SERVE_IDLE, stream.recv()).await {
        let result = match wire::decode_file(&bytes) {
            Ok(FileFrame::GetManifest(id)) => {
                serve_manifest(&mut stream, &blobs, &sealing, me, id).await
            }
            Ok(FileFrame::GetChunks { id, chunks }) => {
                let files = Files {
                    blobs: &blobs,
                    sealing: &sealing,
                    me,
                };
                serve_chunks(&mut stream, files, id, chunks, &faults, &internal).await
            }
            // An answer where a request belongs, or bytes that do not decode.
            _ => break,
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "stopped serving a file");
            break;
        }
    }
}

async fn unavailable(stream: &mut FramedStream, why: &str) -> Result<(), hearth_net::FrameError> {
    send(stream, &FileFrame::Unavailable(why.to_string())).await
}

/// The files a serving task may send from.
#[derive(Clone, Copy)]
struct Files<'a> {
    blobs: &'a BlobStore,
    sealing: &'a SealingNow,
    me: DeviceId,
}

impl Files<'_> {
    /// Where the chunks of `id` come from, or why they cannot be served.
    fn source(&self, id: OpId) -> Result<Source, String> {
        if id.author != self.me {
            return Err("not this device's file".into());
        }
        match self.blobs.status(id) {
            Ok(Some(status)) if status.complete => self
                .blobs
                .reader(id)
                .map(|reader| Source::Sealed(Box::new(reader)))
                .map_err(|e| e.to_string()),
            Ok(_) => match self.sealing.get(id) {
                Some(sealing) if !sealing.is_abandoned() => Ok(Source::Sealing(sealing)),
                _ => Err("the file is gone".into()),
            },
            Err(_) => Err("the file cannot be read".into()),
        }
    }
}

async fn serve_manifest(
    stream: &mut FramedStream,
    blobs: &BlobStore,
    sealing: &SealingNow,
    me: DeviceId,
    id: OpId,
) -> Result<(), hearth_net::FrameError> {
    let files = Files { blobs, sealing, me };
    let hashes = match files.source(id) {
        Ok(Source::Sealed(_)) => blobs.manifest(id).ok().flatten(),
        Ok(Source::Sealing(sealing)) => Some(sealing.manifest().to_vec()),
        Err(why) => return unavailable(stream, &why).await,
    };
    match hashes {
        Some(hashes) => send(stream, &FileFrame::Manifest(hashes)).await,
        None => unavailable(stream, "the file cannot be read").await,
    }
}

/// What a test asked the serving side to do wrong.
#[derive(Debug, Default)]
pub(crate) struct ServeFaults {
    corrupt_chunk: Option<u32>,
    corrupted: AtomicBool,
    delay: Option<Duration>,
}

impl ServeFaults {
    pub(crate) fn new(faults: &Faults) -> ServeFaults {
        ServeFaults {
            corrupt_chunk: faults.corrupt_chunk_once,
            corrupted: AtomicBool::new(false),
            delay: faults.serve_delay,
        }
    }
}

async fn serve_chunks(
    stream: &mut FramedStream,
    files: Files<'_>,
    id: OpId,
    chunks: Vec<u32>,
    faults: &ServeFaults,
    internal: &mpsc::Sender<Internal>,
) -> Result<(), hearth_net::FrameError> {
    let reader = match files.source(id) {
        Ok(source) => Arc::new(source),
        Err(why) => return unavailable(stream, &why).await,
    };
    let source = reader.clone();
    let total = reader.size();
    let count = reader.chunk_count();
    // Each chunk once, whatever the request repeats: a 64 KiB request naming chunk
    // 0 sixty thousand times must not make this device send 60 GiB.
    let mut wanted = chunks;
    wanted.sort_unstable();
    wanted.dedup();
    wanted.retain(|&i| i < count);
    // The bytes the partner lacks at the start of this round.
    let lacking: u64 = wanted.iter().map(|&i| reader.chunk_len(i)).sum();
    let (tx, mut rx) = mpsc::channel::<Result<(u32, Vec<u8>), String>>(READ_AHEAD);
    let reading = tokio::task::spawn_blocking(move || {
        for i in wanted {
            let chunk = reader
                .chunk(i)
                .map(|data| (i, data))
                .map_err(|e| e.to_string());
            if tx.blocking_send(chunk).is_err() {
                break;
            }
        }
    });
    let mut sent = 0u64;
    let mut reported = Instant::now();
    // What the partner holds of the file now, as far as this round has sent it.
    let report = |sent: u64| {
        let _ = internal.try_send(
            FileInternal::Progress {
                id,
                done: total
                    .saturating_sub(lacking)
                    .saturating_add(sent.min(lacking))
                    .min(total),
                total,
                incoming: false,
            }
            .into(),
        );
    };
    while let Some(chunk) = rx.recv().await {
        let (index, mut data) = match chunk {
            Ok(chunk) => chunk,
            Err(why) => {
                reading.abort();
                return unavailable(stream, &why).await;
            }
        };
        if let Some(delay) = faults.delay {
            tokio::time::sleep(delay).await;
        }
        // Deleted meanwhile (or view-once opened, or expired): not one more chunk.
        if !source.still_here(&files, id) {
            reading.abort();
            return unavailable(stream, "the file is gone").await;
        }
        if faults.corrupt_chunk == Some(index)
            && !faults.corrupted.swap(true, Ordering::SeqCst)
            && let Some(byte) = data.first_mut()
        {
            *byte ^= 0xff;
        }
        let len = data.len() as u64;
        send(stream, &FileFrame::Chunk { index, data }).await?;
        sent += len;
        if reported.elapsed() >= REPORT_EVERY {
            reported = Instant::now();
            report(sent);
        }
    }
    report(sent);
    send(stream, &FileFrame::End).await
}
