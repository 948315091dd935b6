//! The engine's side of attachments: sending (staging a file, making its thumbnail,
//! writing the op), keeping downloads going, opening and exporting, and deleting
//! files that must be gone: deleted by their sender, view-once and opened, expired.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hearth_core::{Attachment, Message, Op, OpBody, OpId, Thumbnail, limits};
use hearth_net::FramedStream;
use hearth_store::{BlobStore, Sealing, Staged};

mod from_mailbox;
pub(crate) mod transfer;

use self::transfer::{CHUNK_BYTES, DownloadError, Downloaded, ServeFaults};
use super::{Engine, Internal, now_ms};
use crate::types::*;
use crate::{FileSource, Reply, SendOptions};

/// The files being sealed after their message was written: `Vec<(OpId, path)>`.
pub(super) const SETTING_STAGING: &str = "files-staging";
/// Of those, the ones already announced (their `FileReady` written), with the
/// hash announced and the seq of that op: `Vec<(OpId, [u8; 32], u64)>`. A file
/// sealed again after a restart must be the one announced.
pub(super) const SETTING_ANNOUNCED: &str = "files-announced";
/// Downloads at once.
const MAX_DOWNLOADS: usize = 2;
/// Waits before trying a failed download again.
const RETRY_FAILED: Duration = Duration::from_secs(5);
const RETRY_UNAVAILABLE: Duration = Duration::from_secs(30);
/// Largest file opened into memory for viewing; larger ones are saved instead.
const MAX_OPEN_BYTES: u64 = 1024 * 1024 * 1024;
/// Longest side of a thumbnail, in pixels.
/// Largest picture decoded for a thumbnail.
const MAX_THUMBNAIL_SOURCE: u64 = 64 * 1024 * 1024;
/// Room left free on the disk beyond an arriving file.
const DISK_MARGIN: u64 = 64 * 1024 * 1024;

/// What a handle can ask of the files room.
pub(crate) enum FileCommand {
    SendFile {
        source: FileSource,
        options: SendOptions,
        reply: Reply<MessageView>,
    },
    SaveFile {
        id: MessageId,
        path: PathBuf,
        reply: Reply<()>,
    },
    OpenFile(MessageId, Reply<Vec<u8>>),
    PauseDownload(MessageId, bool, Reply<()>),
    Memories {
        limit: usize,
        before: Option<MessageId>,
        reply: Reply<Vec<MessageView>>,
    },
}

/// What file tasks report.
pub(crate) enum FileInternal {
    Progress {
        id: OpId,
        done: u64,
        total: u64,
        incoming: bool,
    },
    DownloadEnded {
        id: OpId,
        result: Result<Downloaded, DownloadError>,
    },
    Prepared {
        result: Box<Result<Prepared, NodeError>>,
        reply: Reply<MessageView>,
    },
    /// A file on disk is checked and described: write its message.
    Described {
        result: Box<Result<(PathBuf, Attachment), NodeError>>,
        reply: Reply<MessageView>,
    },
    /// The first pass over the file of a message already written found its hashes:
    /// announce it, and serve it as it is sealed.
    Hashed { id: OpId, sealing: Arc<Sealing> },
    /// The file of a message already written is sealed in the store (or could not
    /// be).
    Sealed {
        id: OpId,
        result: Box<Result<Arc<Sealing>, NodeError>>,
    },
    FileRead {
        id: OpId,
        result: Result<Vec<u8>, NodeError>,
        reply: Reply<Vec<u8>>,
    },
}

impl From<FileInternal> for Internal {
    fn from(message: FileInternal) -> Internal {
        Internal::Files(message)
    }
}

/// A file this device wants from the partner.
struct Want {
    retry_at: Instant,
    paused: bool,
    /// What it still needs on the disk, as of when it was queued (at most its
    /// size): counted for every other file's room without reading its records.
    owed: u64,
}

pub(super) struct Files {
    pub(super) blobs: BlobStore,
    pub(super) running: HashMap<OpId, tokio::task::AbortHandle>,
    wanted: BTreeMap<OpId, Want>,
    /// Opened expiring files and when they must go, ms since the epoch.
    expiring: HashMap<OpId, i64>,
    /// This device's files being sealed after their message was written, and where
    /// each is read from.
    staging: HashMap<OpId, PathBuf>,
    /// Of those, the ones announced: the hash announced, and the seq of the
    /// `FileReady` op that did.
    announced: HashMap<OpId, ([u8; 32], u64)>,
    /// Set when the engine stops: sealing threads stop at their next read.
    stop_sealing: Arc<AtomicBool>,
    /// One clone per sealing thread: the engine waits for them to let go of the
    /// store before it says the profile is free.
    sealing: Arc<()>,
    /// Files announced and being sealed, served as they are: shared with the tasks
    /// serving the partner.
    pub(super) sealing_now: transfer::SealingNow,
    /// A test's hold on how fast files are sealed.
    seal_gate: Option<Arc<crate::SealGate>>,
    /// A test's full disk at the end of the next sealing.
    fail_sealing_once: Arc<AtomicBool>,
    faults: Arc<ServeFaults>,
    /// How long a download waits for each message from the partner.
    frame_timeout: Duration,
    /// Free disk space as a test says it is.
    free_space: Option<u64>,
    /// The partner's file being written from the couple's mailbox.
    from_mailbox: from_mailbox::MailboxWriter,
}

impl Files {
    pub(super) fn new(blobs: BlobStore, faults: &crate::Faults) -> Files {
        Files {
            blobs,
            running: HashMap::new(),
            wanted: BTreeMap::new(),
            expiring: HashMap::new(),
            staging: HashMap::new(),
            announced: HashMap::new(),
            stop_sealing: Arc::new(AtomicBool::new(false)),
            sealing: Arc::new(()),
            sealing_now: transfer::SealingNow::default(),
            seal_gate: faults.seal_gate.clone(),
            fail_sealing_once: Arc::new(AtomicBool::new(faults.fail_sealing_once)),
            faults: Arc::new(ServeFaults::new(faults)),
            frame_timeout: faults.frame_timeout.unwrap_or(crate::FRAME_TIMEOUT),
            free_space: faults.free_space,
            from_mailbox: None,
        }
    }

    /// Stops every download and forgets what was wanted: the partner is gone.
    pub(super) fn stop_downloads(&mut self) {
        for task in self.running.values() {
            task.abort();
        }
        self.running.clear();
        self.wanted.clear();
        self.from_mailbox = None;
    }

    /// Stops the threads sealing files and waits (up to 5 s) until they have let
    /// go of the store. What they sealed is thrown away; the next start seals
    /// those files again.
    pub(super) async fn stop_sealing(&self) {
        self.stop_sealing.store(true, Ordering::SeqCst);
        // Those waiting for the partner's fetch to end, too.
        self.sealing_now.cancel_all();
        for _ in 0..500 {
            if Arc::strong_count(&self.sealing) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::warn!("a file was still being sealed when the engine stopped");
    }
}

/// Ends a [`Sealing`] when dropped, however its thread stops (a no-op once it
/// sealed to the end), so no reader waits for chunks that will never come.
struct EndsSealing(Arc<Sealing>);

impl Drop for EndsSealing {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A file being sealed, read until the engine stops.
struct Stoppable<R> {
    inner: R,
    stop: Arc<AtomicBool>,
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("Hearth is stopping"));
        }
        self.inner.read(buf)
    }
}

/// A staged file and the op that will share it.
pub(crate) struct Prepared {
    staged: Staged,
    attachment: Attachment,
}

fn file_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::File(e.to_string())
}

/// Guesses a media type from a file name.
pub fn mime_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "heic" => "image/heic",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A small JPEG of a picture, if it is one the app can decode.
fn make_thumbnail(source: &FileSource) -> Option<Thumbnail> {
    let image = match source {
        FileSource::Path(path) => {
            if std::fs::metadata(path).ok()?.len() > MAX_THUMBNAIL_SOURCE {
                return None;
            }
            crate::pictures::decode_file(path).ok()?
        }
        FileSource::Bytes { bytes, .. } => crate::pictures::decode(bytes).ok()?,
    };
    let side = u32::from(limits::MAX_THUMBNAIL_SIDE);
    let thumb = image.thumbnail(side, side).to_rgb8();
    let mut quality = 80;
    loop {
        let mut jpeg = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality);
        thumb.write_with_encoder(encoder).ok()?;
        if jpeg.len() <= limits::MAX_THUMBNAIL_BYTES {
            return Some(Thumbnail {
                width: u16::try_from(thumb.width()).ok()?,
                height: u16::try_from(thumb.height()).ok()?,
                jpeg,
            });
        }
        if quality <= 30 {
            return None;
        }
        quality -= 15;
    }
}

/// Checks a file to send and says what it is: name, media type, size, a thumbnail
/// for a picture. The hashes are left empty ([`Attachment::is_pending`]): staging
/// finds them. Cheap next to staging, so the message can be written at once.
fn describe(source: &FileSource, options: SendOptions) -> Result<Attachment, NodeError> {
    let name = match source {
        FileSource::Path(path) => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Refusal::NotAFile(path.display().to_string()))?,
        FileSource::Bytes { name, .. } => name.clone(),
    };
    let size = match source {
        FileSource::Path(path) => {
            let meta = std::fs::metadata(path)
                .map_err(|e| file_error(format!("cannot read {}: {e}", path.display())))?;
            if !meta.is_file() {
                return Err(Refusal::NotAFile(path.display().to_string()).into());
            }
            meta.len()
        }
        FileSource::Bytes { bytes, .. } => bytes.len() as u64,
    };
    if size > limits::MAX_FILE_BYTES {
        return Err(Refusal::FileTooLarge { name, size }.into());
    }
    if size == 0 {
        return Err(Refusal::EmptyFile(name).into());
    }
    let mut mime = mime_for(&name).to_string();
    if let FileSource::Bytes { bytes, .. } = source
        && let Ok(format) = image::guess_format(bytes)
    {
        mime = format.to_mime_type().to_string();
    }
    let ephemeral = options.view_once || options.expires_after_open_secs.is_some();
    let thumbnail = if ephemeral || !mime.starts_with("image/") {
        None
    } else {
        make_thumbnail(source)
    };
    let mut name = name;
    while name.len() > limits::MAX_FILE_NAME_BYTES {
        name.pop();
    }
    Ok(Attachment {
        name,
        mime,
        size,
        hash: [0; 32],
        chunk_size: CHUNK_BYTES,
        chunks_root: [0; 32],
        thumbnail,
        view_once: options.view_once,
        expires_after_open_secs: options.expires_after_open_secs,
    })
}

/// Reads the file into the store, sealed chunk by chunk, finding its hashes; a
/// file on disk only until `stop` is set.
fn stage(
    blobs: &BlobStore,
    source: &FileSource,
    name: &str,
    stop: Arc<AtomicBool>,
) -> Result<Staged, NodeError> {
    match source {
        FileSource::Path(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| file_error(format!("cannot read {}: {e}", path.display())))?;
            let inner = std::io::BufReader::with_capacity(1 << 20, file);
            blobs.stage(Stoppable { inner, stop }, CHUNK_BYTES)
        }
        FileSource::Bytes { bytes, .. } => blobs.stage(bytes.as_slice(), CHUNK_BYTES),
    }
    .map_err(|e| staging_error(e, name))
}

/// What reading a file into the store found wrong. Its size was checked when it
/// was described, so a refusal means it changed since (grew past 4 GiB, was
/// emptied, or differs between the two passes).
fn staging_error(e: hearth_store::StoreError, name: &str) -> NodeError {
    match e {
        hearth_store::StoreError::Invalid(_) => Refusal::FileChanged(name.to_string()).into(),
        other => other.into(),
    }
}

/// Describes and stages a file in one go, off the engine's thread: for bytes in
/// memory (a pasted picture), which are small.
fn prepare(
    blobs: &BlobStore,
    source: &FileSource,
    options: SendOptions,
) -> Result<Prepared, NodeError> {
    let mut attachment = describe(source, options)?;
    let staged = stage(blobs, source, &attachment.name, Arc::default())?;
    let imported = staged.imported();
    attachment.size = imported.size;
    attachment.hash = imported.hash;
    attachment.chunk_size = imported.chunk_size;
    attachment.chunks_root = imported.chunks_root;
    Ok(Prepared { staged, attachment })
}

/// "1.5 MB", for messages.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Writes a copy of a file where the user chose, through a temporary file beside it
/// so a failure never leaves half a file under the chosen name.
fn export(blobs: &BlobStore, id: OpId, path: &Path) -> Result<(), NodeError> {
    let mut reader = blobs.reader(id)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Refusal::NotAFile(path.display().to_string()))?;
    // A new file of this call's own, readable by the user only: `create_new`
    // refuses any path that exists, a symlink planted there included, so nothing
    // else is ever written through.
    let (tmp, mut out) = (|| {
        let mut attempt = 0;
        loop {
            let tmp = dir.join(format!(
                ".{}.{:016x}.hearth-part",
                name.to_string_lossy(),
                rand::random::<u64>()
            ));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&tmp) {
                Ok(out) => return Ok((tmp, out)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    })()
    .map_err(|e| file_error(format!("cannot save {}: {e}", path.display())))?;
    let result = (|| {
        std::io::copy(&mut reader, &mut out)?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_error(format!("cannot save {}: {e}", path.display())));
    }
    Ok(())
}

impl Engine {
    /// At start: forgets files whose message is gone or never got written, deletes
    /// files that expired while the app was closed, and queues unfinished downloads.
    pub(super) fn load_files(&mut self) {
        if let Err(e) = self.files.blobs.sweep() {
            tracing::warn!(error = %e, "could not clean up half-imported files");
        }
        let list = match self.files.blobs.list() {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "could not list attachments");
                return;
            }
        };
        for status in list {
            let message = self.store.message(status.id).ok().flatten();
            let keep = message.as_ref().is_some_and(|m| !m.file_is_gone(now_ms()));
            if !keep {
                self.file_gone(status.id);
                continue;
            }
            if let Some(message) = &message {
                self.note_expiry(message);
            }
            if !status.complete {
                self.files.wanted.insert(
                    status.id,
                    Want {
                        retry_at: Instant::now(),
                        paused: status.paused,
                        owed: status.size.saturating_sub(status.have),
                    },
                );
            }
        }
    }

    pub(super) async fn on_file_command(&mut self, command: FileCommand) {
        match command {
            FileCommand::SendFile {
                source,
                options,
                reply,
            } => self.send_file(source, options, reply),
            FileCommand::SaveFile { id, path, reply } => match self.file_to_read(id) {
                Ok((_, attachment)) if attachment.is_ephemeral() => {
                    let _ = reply.send(Err(Refusal::EphemeralNotSaved.into()));
                }
                Ok((message, _)) => {
                    let blobs = self.files.blobs.clone();
                    self.spawn(async move {
                        let id = message.op.id;
                        let result = tokio::task::spawn_blocking(move || export(&blobs, id, &path))
                            .await
                            .unwrap_or_else(|e| Err(file_error(e)));
                        let _ = reply.send(result);
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            FileCommand::OpenFile(id, reply) => match self.file_to_read(id) {
                Ok((message, attachment)) => {
                    if attachment.size > MAX_OPEN_BYTES {
                        let _ = reply.send(Err(Refusal::TooLargeToOpen.into()));
                        return;
                    }
                    let blobs = self.files.blobs.clone();
                    let internal = self.internal_tx.clone();
                    let id = message.op.id;
                    self.spawn(async move {
                        let result = tokio::task::spawn_blocking(move || {
                            let mut bytes = Vec::new();
                            blobs
                                .reader(id)?
                                .read_to_end(&mut bytes)
                                .map_err(file_error)?;
                            Ok(bytes)
                        })
                        .await
                        .unwrap_or_else(|e| Err(file_error(e)));
                        let _ = internal
                            .send(FileInternal::FileRead { id, result, reply }.into())
                            .await;
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            FileCommand::PauseDownload(id, paused, reply) => {
                let result = self.pause(id, paused).await;
                let _ = reply.send(result);
            }
            FileCommand::Memories {
                limit,
                before,
                reply,
            } => {
                let result = (|| {
                    let before = match before {
                        Some(id) => Some(self.find(id)?.op.pos()),
                        None => None,
                    };
                    let page = self.store.gallery_before(before, limit.min(1000))?;
                    Ok(page.iter().map(|m| self.view(m)).collect())
                })();
                let _ = reply.send(result);
            }
        }
    }

    pub(super) async fn on_file_internal(&mut self, message: FileInternal) {
        match message {
            FileInternal::Progress {
                id,
                done,
                total,
                incoming,
            } => {
                self.emit(NodeEvent::Transfer {
                    id: MessageId(id),
                    done,
                    total,
                    incoming,
                })
                .await;
            }
            FileInternal::DownloadEnded { id, result } => self.on_download_ended(id, result).await,
            FileInternal::Prepared { result, reply } => self.on_prepared(*result, reply).await,
            FileInternal::Described { result, reply } => {
                let result = self.on_described(*result).await;
                let _ = reply.send(result);
            }
            FileInternal::Hashed { id, sealing } => self.on_hashed(id, sealing).await,
            FileInternal::Sealed { id, result } => self.on_sealed(id, *result).await,
            FileInternal::FileRead { id, result, reply } => {
                self.on_file_read(id, result, reply).await;
            }
        }
    }

    fn send_file(&mut self, source: FileSource, options: SendOptions, reply: Reply<MessageView>) {
        if let Err(e) = self.partner_device() {
            let _ = reply.send(Err(e));
            return;
        }
        if options.view_once && options.expires_after_open_secs.is_some() {
            let _ = reply.send(Err(Refusal::ViewOnceAndExpiry.into()));
            return;
        }
        let internal = self.internal_tx.clone();
        if let FileSource::Path(path) = source {
            // A file on disk: the message first, the bytes as they are sealed.
            self.spawn(async move {
                let described = path.clone();
                let result = tokio::task::spawn_blocking(move || {
                    describe(&FileSource::Path(described), options)
                })
                .await
                .unwrap_or_else(|e| Err(file_error(e)))
                .map(|attachment| (path, attachment));
                let _ = internal
                    .send(
                        FileInternal::Described {
                            result: Box::new(result),
                            reply,
                        }
                        .into(),
                    )
                    .await;
            });
            return;
        }
        let blobs = self.files.blobs.clone();
        self.spawn(async move {
            let result = tokio::task::spawn_blocking(move || prepare(&blobs, &source, options))
                .await
                .unwrap_or_else(|e| Err(file_error(e)));
            let _ = internal
                .send(
                    FileInternal::Prepared {
                        result: Box::new(result),
                        reply,
                    }
                    .into(),
                )
                .await;
        });
    }

    /// A file on disk is described: write its message now, so it reaches the
    /// partner at once, then seal the file into the store; [`Engine::on_staged`]
    /// writes the hashes that let the partner fetch it. Where it is being read from
    /// is remembered, so a restart in the middle stages it again.
    async fn on_described(
        &mut self,
        result: Result<(PathBuf, Attachment), NodeError>,
    ) -> Result<MessageView, NodeError> {
        let (path, attachment) = result?;
        let op = self.write(OpBody::Attachment(attachment)).await?;
        self.files.staging.insert(op.id, path.clone());
        self.save_staging();
        self.start_staging(op.id, path);
        let message = self
            .store
            .message(op.id)?
            .ok_or(NodeError::NoSuchMessage(MessageId(op.id)))?;
        Ok(self.view(&message))
    }

    /// Seals the file of message `id` from `path`, in two passes on a blocking
    /// thread: the first finds its hashes, and the file is announced then
    /// ([`Engine::on_hashed`]); the second seals it, and the partner is served
    /// each chunk as soon as it is sealed. The partner starts receiving about as
    /// soon as it could have, rather than after the whole file is sealed.
    fn start_staging(&mut self, id: OpId, path: PathBuf) {
        let blobs = self.files.blobs.clone();
        let internal = self.internal_tx.clone();
        let stop = self.files.stop_sealing.clone();
        let sealing_token = self.files.sealing.clone();
        let gate = self.files.seal_gate.clone();
        let fail_once = self.files.fail_sealing_once.clone();
        // What the message says of the file, and what was announced already (a
        // restart after the announcement): a file that differs is not sent.
        let expected = match self.store.message(id) {
            Ok(Some(message)) if !message.file_is_gone(now_ms()) => {
                message.attachment().map(|a| a.size)
            }
            _ => None,
        };
        let Some(expected) = expected else {
            self.files.staging.remove(&id);
            self.save_staging();
            return;
        };
        let announced = self.files.announced.get(&id).map(|(hash, _)| *hash);
        let report = self.internal_tx.clone();
        self.spawn(async move {
            let result = tokio::task::spawn_blocking(move || {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let unreadable =
                    |e: std::io::Error| file_error(format!("cannot read {}: {e}", path.display()));
                // Opened once (below): both passes and the serving read the same
                // file, even if it is renamed or replaced meanwhile.
                let open = |original: &std::fs::File| {
                    let mut file = original.try_clone().map_err(unreadable)?;
                    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))
                        .map_err(unreadable)?;
                    Ok::<_, NodeError>(Stoppable {
                        inner: std::io::BufReader::with_capacity(1 << 20, file),
                        stop: stop.clone(),
                    })
                };
                let changed = || -> NodeError { Refusal::FileChanged(name.clone()).into() };
                let sealed = (|| {
                    let original = std::fs::File::open(&path).map_err(unreadable)?;
                    let hashed = blobs
                        .hash(open(&original)?, CHUNK_BYTES)
                        .map_err(|e| staging_error(e, &name))?;
                    if hashed.imported.size != expected
                        || announced.is_some_and(|hash| hash != hashed.imported.hash)
                    {
                        return Err(changed());
                    }
                    let serving = original.try_clone().map_err(unreadable)?;
                    let sealing = Arc::new(blobs.begin_sealing(hashed)?.serving_from(serving));
                    // However this ends (an error, a panic), readers waiting for
                    // its chunks are let go; after a seal to the end, a no-op.
                    let _ends = EndsSealing(sealing.clone());
                    let hashed = FileInternal::Hashed {
                        id,
                        sealing: sealing.clone(),
                    };
                    if internal.blocking_send(hashed.into()).is_err() {
                        return Err(file_error("Hearth is stopping"));
                    }
                    sealing
                        .seal_from(open(&original)?, |_| {
                            if let Some(gate) = &gate {
                                gate.pass(&stop);
                            }
                        })
                        .map_err(|e| staging_error(e, &name))?;
                    if fail_once.swap(false, std::sync::atomic::Ordering::Relaxed) {
                        return Err(file_error("no space left on the profile's disk"));
                    }
                    Ok(sealing)
                })();
                // The store first, then the sign that this thread is done with it.
                drop(blobs);
                drop(sealing_token);
                sealed
            })
            .await;
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(error = %e, "a sealing thread failed");
                    Err(file_error(e))
                }
            };
            let sealed = FileInternal::Sealed {
                id,
                result: Box::new(result),
            };
            let _ = report.send(sealed.into()).await;
        });
    }

    /// The file of message `id` has its hashes: serve it as it is sealed, and tell
    /// the partner (once: a file sealed again after a restart was announced).
    async fn on_hashed(&mut self, id: OpId, sealing: Arc<Sealing>) {
        let here = matches!(self.store.message(id), Ok(Some(m)) if !m.file_is_gone(now_ms()));
        if !here {
            // Deleted (or gone) meanwhile: stop.
            sealing.cancel();
            return;
        }
        let imported = sealing.imported();
        self.files.sealing_now.insert(id, sealing);
        if self.files.announced.contains_key(&id) {
            return;
        }
        if let Some(seq) = self
            .announce_file(id, imported.hash, imported.chunks_root)
            .await
        {
            self.files.announced.insert(id, (imported.hash, seq));
            self.save_staging();
        }
    }

    /// Writes the op that tells the partner the file of message `id` can be fetched,
    /// with its hashes; returns that op's seq.
    async fn announce_file(
        &mut self,
        id: OpId,
        hash: [u8; 32],
        chunks_root: [u8; 32],
    ) -> Option<u64> {
        let body = OpBody::FileReady {
            target: id,
            hash,
            chunks_root,
        };
        match self.write(body).await {
            Ok(op) => Some(op.id.seq),
            Err(e) => {
                tracing::warn!(error = %e, "could not announce a file");
                None
            }
        }
    }

    /// The file of message `id` is sealed: tie it to the message. If it changed
    /// meanwhile (or cannot be sent at all), the message is withdrawn on both
    /// devices and the reason shown. If this device could not seal it for another
    /// reason (its disk is full, a read failed), the message stays: the partner may
    /// have the whole file already, served from the original, and the sealing is
    /// tried again at the next start.
    async fn on_sealed(&mut self, id: OpId, result: Result<Arc<Sealing>, NodeError>) {
        let path = self.files.staging.get(&id).cloned();
        let done_with = |engine: &mut Engine| {
            // Committed (or failed) first; only then is the file no longer served as
            // being sealed, nor sealed again at the next start.
            if let Some(sealing) = engine.files.sealing_now.remove(id) {
                sealing.cancel();
            }
            engine.files.staging.remove(&id);
            engine.files.announced.remove(&id);
            engine.save_staging();
        };
        let message = match self.store.message(id) {
            Ok(Some(message)) if !message.file_is_gone(now_ms()) => message,
            // Deleted (or opened and gone) while it was being read: the sealed copy
            // goes with `result`.
            _ => {
                done_with(self);
                return;
            }
        };
        let ready = result.and_then(|sealing| {
            self.files.blobs.commit_sealing(&sealing, id)?;
            Ok(sealing.imported())
        });
        let announced = self.files.announced.get(&id).copied();
        done_with(self);
        match ready {
            Ok(imported) => {
                let Some((_, ready_seq)) = announced else {
                    // Its announcement could not be written when its hashes were
                    // found: now.
                    self.announce_file(id, imported.hash, imported.chunks_root)
                        .await;
                    return;
                };
                self.sealed_after_deposit(id, ready_seq);
                self.emit(NodeEvent::MessageChanged(self.view(&message)))
                    .await;
            }
            Err(NodeError::Refused(refusal)) => {
                tracing::warn!(%refusal, "a file could not be sent");
                self.emit(NodeEvent::TransferFailed {
                    id: MessageId(id),
                    reason: TransferFailure::NotSent(refusal),
                })
                .await;
                if let Err(e) = self.write(OpBody::Delete { target: id }).await {
                    tracing::warn!(error = %e, "could not withdraw a file that failed");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a file could not be sealed; trying again at the next start");
                if let Some(path) = path {
                    self.files.staging.insert(id, path);
                    if let Some(announced) = announced {
                        self.files.announced.insert(id, announced);
                    }
                    self.save_staging();
                }
                self.emit(NodeEvent::TransferFailed {
                    id: MessageId(id),
                    reason: TransferFailure::Unreadable(e.to_string()),
                })
                .await;
            }
        }
    }

    fn save_staging(&self) {
        let staging: Vec<(OpId, String)> = self
            .files
            .staging
            .iter()
            .map(|(id, path)| (*id, path.to_string_lossy().into_owned()))
            .collect();
        if let Err(e) = self.store.set_setting(SETTING_STAGING, &staging) {
            tracing::warn!(error = %e, "could not remember the files being sent");
        }
        let announced: Vec<(OpId, [u8; 32], u64)> = self
            .files
            .announced
            .iter()
            .map(|(id, (hash, seq))| (*id, *hash, *seq))
            .collect();
        if let Err(e) = self.store.set_setting(SETTING_ANNOUNCED, &announced) {
            tracing::warn!(error = %e, "could not remember the files announced");
        }
    }

    /// At start: files whose message was written but whose staging did not finish.
    /// Sealed already (stopped before the hashes were written): write them. Else
    /// stage again from where the file was.
    pub(super) async fn resume_staging(&mut self) {
        let staging: Vec<(OpId, String)> = match self.store.setting(SETTING_STAGING) {
            Ok(found) => found.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the files being sent");
                return;
            }
        };
        let announced: Vec<(OpId, [u8; 32], u64)> = self
            .store
            .setting(SETTING_ANNOUNCED)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.files.announced = announced
            .into_iter()
            .filter(|(id, _, _)| staging.iter().any(|(s, _)| s == id))
            .map(|(id, hash, seq)| (id, (hash, seq)))
            .collect();
        for (id, path) in staging {
            let path = PathBuf::from(path);
            match self.files.blobs.status(id) {
                Ok(Some(status)) if status.complete => {
                    // Committed just before the stop: announced already, or not.
                    if let Some((_, ready_seq)) = self.files.announced.remove(&id) {
                        self.sealed_after_deposit(id, ready_seq);
                        continue;
                    }
                    self.announce_file(id, status.hash, status.chunks_root)
                        .await;
                }
                _ => {
                    tracing::info!(file = %MessageId(id), "sealing a file again after a restart");
                    self.files.staging.insert(id, path.clone());
                    self.start_staging(id, path);
                }
            }
        }
        self.save_staging();
    }

    /// A file is read and sealed: tie it to the next op of this device, and write
    /// the op. The file is in place before the op exists, so the partner never asks
    /// for a file this device does not have.
    async fn on_prepared(
        &mut self,
        result: Result<Prepared, NodeError>,
        reply: Reply<MessageView>,
    ) {
        let result = async {
            let Prepared { staged, attachment } = result?;
            let id = OpId {
                author: self.me,
                seq: self.store.held(self.me) + 1,
            };
            self.files.blobs.commit(staged, id)?;
            let op = match self.write(OpBody::Attachment(attachment)).await {
                Ok(op) => op,
                Err(e) => {
                    self.drop_file(id);
                    return Err(e);
                }
            };
            debug_assert_eq!(op.id, id);
            let message = self
                .store
                .message(op.id)?
                .ok_or(NodeError::NoSuchMessage(MessageId(op.id)))?;
            Ok(self.view(&message))
        }
        .await;
        let _ = reply.send(result);
    }

    async fn on_file_read(
        &mut self,
        id: OpId,
        result: Result<Vec<u8>, NodeError>,
        reply: Reply<Vec<u8>>,
    ) {
        if result.is_ok()
            && id.author != self.me
            && let Ok(Some(message)) = self.store.message(id)
            && message.attachment().is_some_and(Attachment::is_ephemeral)
            && message.state.opened_at_ms().is_none()
        {
            // Opening is what starts the clock (or, for view-once, ends the file);
            // the op reaches the partner so their copy goes too.
            if let Err(e) = self.write(OpBody::Opened { target: id }).await {
                tracing::warn!(error = %e, "could not record that a file was opened");
            }
        }
        let _ = reply.send(result);
    }

    /// The message of `id` and its attachment, if the file is here to read.
    fn file_to_read(&self, id: MessageId) -> Result<(Message, Attachment), NodeError> {
        let message = self.find(id)?;
        if message.state.is_deleted() {
            return Err(Refusal::FileDeleted.into());
        }
        if message.file_is_gone(now_ms()) {
            // Erased once gone: the tombstone still says whether it was view-once.
            let view_once = match &message.op.body {
                OpBody::Attachment(a) => a.view_once,
                OpBody::Erased(e) => e.view_once,
                _ => false,
            };
            return Err(if view_once {
                Refusal::ViewOnceGone
            } else {
                Refusal::FileExpired
            }
            .into());
        }
        let Some(attachment) = message.attachment().cloned() else {
            return Err(Refusal::NoFile.into());
        };
        match self.files.blobs.status(message.op.id)? {
            Some(status) if status.complete => Ok((message, attachment)),
            Some(_) => Err(Refusal::NotArrived.into()),
            None => Err(Refusal::FileNotHere.into()),
        }
    }

    async fn pause(&mut self, id: MessageId, paused: bool) -> Result<(), NodeError> {
        let message = self.find(id)?;
        let id = message.op.id;
        if !self.files.wanted.contains_key(&id) {
            return Err(Refusal::NotArriving.into());
        }
        // Resuming still needs the room: say so, and stay paused.
        if !paused && let Err(reason) = self.room_for(id) {
            self.emit(NodeEvent::TransferFailed {
                id: MessageId(id),
                reason,
            })
            .await;
            return Ok(());
        }
        let Some(want) = self.files.wanted.get_mut(&id) else {
            return Err(Refusal::NotArriving.into());
        };
        want.paused = paused;
        want.retry_at = Instant::now();
        self.files.blobs.set_paused(id, paused)?;
        if paused && let Some(task) = self.files.running.remove(&id) {
            task.abort();
        }
        if !paused {
            self.start_downloads();
        }
        self.emit(NodeEvent::MessageChanged(self.view(&message)))
            .await;
        Ok(())
    }

    /// Follows a new op (either side's) into the file store: a partner's attachment
    /// is queued for download; a delete, or the opening of a view-once file, deletes
    /// the file here.
    pub(super) async fn track_files(&mut self, op: &Op) {
        match &op.body {
            // One written before its file was read waits for its FileReady.
            OpBody::Attachment(attachment)
                if op.id.author != self.me && !attachment.is_pending() =>
            {
                self.want_file(op.id, attachment).await;
            }
            OpBody::FileReady {
                target,
                hash,
                chunks_root,
            } if op.id.author != self.me && target.author == op.id.author => {
                let message = match self.store.message(*target) {
                    Ok(Some(message)) if !message.file_is_gone(now_ms()) => message,
                    _ => return,
                };
                if let Some(pending) = message.attachment().filter(|a| a.is_pending()) {
                    let attachment = Attachment {
                        hash: *hash,
                        chunks_root: *chunks_root,
                        ..pending.clone()
                    };
                    self.want_file(*target, &attachment).await;
                }
            }
            OpBody::Delete { target } | OpBody::Opened { target } => {
                if let Ok(Some(message)) = self.store.message(*target) {
                    if message.file_is_gone(now_ms()) {
                        self.file_gone(*target);
                    } else {
                        self.note_expiry(&message);
                    }
                }
            }
            _ => {}
        }
    }

    /// The partner's file of message `id` is wanted here: make room for it in the
    /// store and queue its download (paused, with the reason shown, if the disk is
    /// too full for it).
    async fn want_file(&mut self, id: OpId, attachment: &Attachment) {
        if matches!(self.files.blobs.status(id), Ok(Some(status)) if status.complete) {
            return;
        }
        if let Err(e) = self.files.blobs.expect(id, attachment) {
            tracing::warn!(error = %e, "could not make room for an arriving file");
            return;
        }
        let paused = match self.room_for(id) {
            Ok(()) => false,
            Err(reason) => {
                let _ = self.files.blobs.set_paused(id, true);
                self.emit(NodeEvent::TransferFailed {
                    id: MessageId(id),
                    reason,
                })
                .await;
                true
            }
        };
        // Asked again (a second announcement from the partner): a pause stays.
        let paused = paused || self.files.wanted.get(&id).is_some_and(|w| w.paused);
        self.files.wanted.insert(
            id,
            Want {
                retry_at: Instant::now(),
                paused,
                owed: attachment.size,
            },
        );
        self.start_downloads();
    }

    /// Whether the disk holds what file `id` still needs on top of what every other
    /// download under way or waiting still needs, with a margin: ten files of
    /// 3 GB each fit 5 GB free one by one, not together.
    fn room_for(&self, id: OpId) -> Result<(), TransferFailure> {
        // This file's own need, exactly; the others' as they were queued (an upper
        // bound), so a long queue costs no reads.
        let own = self
            .files
            .blobs
            .status(id)
            .ok()
            .flatten()
            .map_or(0, |s| s.size.saturating_sub(s.have));
        let others: u64 = self
            .files
            .wanted
            .iter()
            .filter(|(other, want)| **other != id && !want.paused)
            .map(|(_, want)| want.owed)
            .fold(0, u64::saturating_add);
        let needed = own.saturating_add(others).saturating_add(DISK_MARGIN);
        let free = self.free_space();
        if needed > free {
            return Err(TransferFailure::NoDiskSpace { needed, free });
        }
        Ok(())
    }

    /// Free space on the profile's disk (or what a test says it is).
    fn free_space(&self) -> u64 {
        if let Some(free) = self.files.free_space {
            return free;
        }
        fs2::available_space(self.files.blobs.dir()).unwrap_or(u64::MAX)
    }

    fn note_expiry(&mut self, message: &Message) {
        if let (Some(at), Some(a)) = (message.state.opened_at_ms(), message.attachment())
            && let Some(secs) = a.expires_after_open_secs
        {
            let deadline =
                at.saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
            self.files.expiring.insert(message.op.id, deadline);
        }
    }

    /// Deletes every trace of a file on this device: a running download, the
    /// chunks, the key.
    fn drop_file(&mut self, id: OpId) {
        if let Some(task) = self.files.running.remove(&id) {
            task.abort();
        }
        // Being sealed: stop, and serve nothing more of it.
        if let Some(sealing) = self.files.sealing_now.remove(id) {
            sealing.cancel();
        }
        self.files.wanted.remove(&id);
        self.files.expiring.remove(&id);
        if let Err(e) = self.files.blobs.delete(id) {
            tracing::warn!(error = %e, "could not delete a file");
        }
    }

    /// A file is gone for good (its message deleted, its view-once opened, its time
    /// up): the file goes, and so does everything its message said of it (name,
    /// thumbnail, hashes), leaving a tombstone.
    fn file_gone(&mut self, id: OpId) {
        // The message's words first, durably, then the file: a crash in between
        // leaves a file the next start finds gone and deletes.
        let gone = self
            .store
            .message(id)
            .ok()
            .flatten()
            .is_some_and(|m| m.file_is_gone(now_ms()));
        if gone && let Err(e) = self.store.erase(id).and_then(|()| self.store.flush()) {
            tracing::warn!(error = %e, "could not erase a gone file's message");
        }
        self.drop_file(id);
    }

    /// Each tick: deletes expired files, and starts downloads.
    pub(super) async fn maintain_files(&mut self) {
        let now = now_ms();
        let expired: Vec<OpId> = self
            .files
            .expiring
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.file_gone(id);
            if let Ok(Some(message)) = self.store.message(id) {
                self.emit(NodeEvent::MessageChanged(self.view(&message)))
                    .await;
            }
        }
        self.start_downloads();
    }

    pub(super) fn start_downloads(&mut self) {
        let Some(partner) = self.partner.as_ref().map(|p| p.device) else {
            return;
        };
        if !self.presence.online {
            return;
        }
        let now = Instant::now();
        let ready: Vec<OpId> = self
            .files
            .wanted
            .iter()
            .filter(|(id, want)| {
                !want.paused
                    && want.retry_at <= now
                    && !self.files.running.contains_key(id)
                    && self.mailbox_writing() != Some(**id)
            })
            .map(|(id, _)| *id)
            .take(MAX_DOWNLOADS.saturating_sub(self.files.running.len()))
            .collect();
        for id in ready {
            let task = self.spawn(transfer::download(
                self.net.clone(),
                partner,
                self.files.blobs.clone(),
                id,
                self.internal_tx.clone(),
                self.files.frame_timeout,
            ));
            self.files.running.insert(id, task);
        }
    }

    pub(super) fn serve_file(&mut self, stream: FramedStream) {
        self.spawn(transfer::serve(
            stream,
            self.files.blobs.clone(),
            self.files.sealing_now.clone(),
            self.me,
            self.files.faults.clone(),
            self.internal_tx.clone(),
        ));
    }

    async fn on_download_ended(&mut self, id: OpId, result: Result<Downloaded, DownloadError>) {
        self.files.running.remove(&id);
        match result {
            Ok(done) => {
                self.files.wanted.remove(&id);
                self.emit(NodeEvent::TransferDone {
                    id: MessageId(id),
                    blake3: hex(&done.hash),
                    received: done.received,
                    rejected_chunks: done.rejected,
                })
                .await;
                if let Ok(Some(message)) = self.store.message(id) {
                    self.emit(NodeEvent::MessageChanged(self.view(&message)))
                        .await;
                }
            }
            Err(e) => {
                let Some(want) = self.files.wanted.get_mut(&id) else {
                    // Deleted or paused meanwhile.
                    return;
                };
                tracing::info!(file = %MessageId(id), error = %e, "download stopped; will try again");
                want.retry_at = Instant::now()
                    + match e {
                        DownloadError::Unavailable(_) => RETRY_UNAVAILABLE,
                        DownloadError::Failed(_) => RETRY_FAILED,
                    };
                let reason = match e {
                    DownloadError::Unavailable(why) => TransferFailure::Unavailable(why),
                    DownloadError::Failed(why) => TransferFailure::Interrupted(why),
                };
                self.emit(NodeEvent::TransferFailed {
                    id: MessageId(id),
                    reason,
                })
                .await;
            }
        }
        self.start_downloads();
    }

    pub(super) fn attachment_view(&self, message: &Message) -> Option<AttachmentView> {
        let a = match &message.op.body {
            OpBody::Attachment(a) => a,
            // A view-once or expiring file that is gone: the timeline still says so.
            OpBody::Erased(e)
                if (e.view_once || e.expires_after_open_secs.is_some())
                    && !message.state.is_deleted() =>
            {
                return Some(AttachmentView {
                    name: String::new(),
                    mime: String::new(),
                    size: 0,
                    blake3: String::new(),
                    view_once: e.view_once,
                    expires_after_open_secs: e.expires_after_open_secs,
                    opened_at: message.state.opened_at_ms(),
                    thumbnail: None,
                    file: FileState::Gone,
                });
            }
            _ => return None,
        };
        if message.state.is_deleted() {
            return None;
        }
        let status = self.files.blobs.status(message.op.id).ok().flatten();
        let file = if message.file_is_gone(now_ms()) {
            FileState::Gone
        } else {
            match &status {
                Some(s) if s.complete => FileState::Ready,
                Some(s) => FileState::Arriving {
                    done: s.have,
                    paused: s.paused,
                },
                // Its message went first; the file is still being sealed by its
                // sender (here, perhaps after its hashes went out).
                // This device's own file: being sealed, or not here at all (a
                // restored profile whose backup was made while it was sealed).
                None if message.op.id.author == self.me => {
                    let id = message.op.id;
                    if self.files.staging.contains_key(&id) || self.files.sealing_now.contains(id) {
                        FileState::Preparing
                    } else {
                        FileState::Missing
                    }
                }
                None if a.is_pending() => FileState::Preparing,
                None => FileState::Missing,
            }
        };
        let hash = status.map_or(a.hash, |s| s.hash);
        Some(AttachmentView {
            name: a.name.clone(),
            mime: a.mime.clone(),
            size: a.size,
            blake3: hex(&hash),
            view_once: a.view_once,
            expires_after_open_secs: a.expires_after_open_secs,
            opened_at: message.state.opened_at_ms(),
            // One that is not what a Hearth sender makes never reaches the window.
            thumbnail: a.thumbnail.clone().filter(Thumbnail::is_plausible),
            file,
        })
    }
}
