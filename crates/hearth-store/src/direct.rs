//! A download's chunks written straight to the disk, past the page cache.
//!
//! A download writes each byte of the file once, reads none of it back, and makes
//! it durable every few MiB anyway. Through the page cache every byte is copied into
//! the kernel and written back later by a kernel thread; a profile of a 512 MiB
//! download over loopback found a fifth of both devices' CPU time in that copy
//! alone. With `O_DIRECT` the disk takes the bytes from this buffer instead.
//!
//! Direct writes need the file offset, the length and the buffer's address to be
//! multiples of the disk's block size, and sealed chunks (1 MiB and a 16-byte tag,
//! after a 64-byte header) are not. So a [`DirectWriter`] takes a stream of bytes
//! that continues where the last one ended, hands the whole blocks it holds to a
//! thread that writes them, and keeps the rest (less than one block) for the next
//! append. A direct write returns once the device has taken the bytes (the fsync of
//! a checkpoint makes them durable), so that thread waits for the disk while the
//! caller seals the next chunk.
//!
//! Nothing before the offset the stream starts at is ever written: the part of the
//! first block before it (a file's header, with half of its key, or chunks held
//! from before a restart) is not even read, and the rest of that block goes through
//! the page cache. A file deleted while its first chunks are still being written
//! keeps its header wiped.
//!
//! [`DirectWriter::settle`] writes the rest through the page cache, when a checkpoint
//! needs everything appended in the file, and returns a [`Written`] that says when
//! the thread has written all that came before. The block holding the rest is written
//! again, whole and with the same bytes at the start, with the next append (ext4 and
//! XFS flush and drop the cached page first).
//!
//! Where the file system does not take direct writes (tmpfs before Linux 6.6, some
//! network file systems, anything but Linux), `open` finds none; where one is
//! refused midway, the thread writes those bytes and all after them through the page
//! cache: nothing is lost, it is only slower.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;

/// Offsets, lengths and addresses of direct writes are multiples of this: 4 KiB
/// covers disks with 512-byte and with 4 KiB blocks.
const ALIGN: usize = 4096;

/// Buffers in use at once: one being filled, the others queued or being written.
const BUFFERS: usize = 3;

/// Memory with a block-aligned start.
struct Block {
    raw: Vec<u8>,
    start: usize,
}

impl Block {
    fn new(len: usize) -> Option<Block> {
        let raw = vec![0u8; len + ALIGN];
        let start = raw.as_ptr().align_offset(ALIGN);
        (start <= ALIGN).then_some(Block { raw, start })
    }

    fn bytes(&self, len: usize) -> &[u8] {
        &self.raw[self.start..self.start + len]
    }

    fn bytes_mut(&mut self, range: std::ops::Range<usize>) -> &mut [u8] {
        &mut self.raw[self.start + range.start..self.start + range.end]
    }
}

enum Job {
    /// Whole blocks, written directly.
    Blocks { block: Block, len: usize, at: u64 },
    /// The rest, written through the page cache.
    Rest { bytes: Vec<u8>, at: u64 },
    /// Answered once every job before it is done, with the first error met.
    Mark(mpsc::SyncSender<io::Result<()>>),
}

/// Writes a stream of bytes into a file with `O_DIRECT`, block by whole block, on a
/// thread of its own.
pub(crate) struct DirectWriter {
    jobs: Option<mpsc::SyncSender<Job>>,
    /// Buffers the thread has written out, to be filled again (in a mutex only so
    /// that the writer can be shared between threads; one thread uses it).
    free: std::sync::Mutex<mpsc::Receiver<Block>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The buffer being filled: `held` bytes, from file offset `at`.
    block: Block,
    held: usize,
    /// A multiple of [`ALIGN`].
    at: u64,
    /// The most `held` may reach.
    room: usize,
}

/// When the bytes appended before [`DirectWriter::settle`] are all in the file.
pub(crate) struct Written(mpsc::Receiver<io::Result<()>>);

impl Written {
    /// Waits until they are; the first error the writing met, if any.
    pub(crate) fn wait(self) -> io::Result<()> {
        self.0.recv().unwrap_or_else(|_| Err(stopped()))
    }
}

impl DirectWriter {
    /// Opens `path` (the file `buffered` has open) for direct writes of a stream
    /// that starts at file offset `offset`, taking up to `max_append` bytes at a
    /// time. `None` where direct writes cannot be had.
    pub(crate) fn open(
        path: &Path,
        buffered: &File,
        offset: u64,
        max_append: usize,
    ) -> Option<DirectWriter> {
        let direct = open_direct(path)?;
        if !same_file(&direct, buffered) {
            return None;
        }
        let buffered_copy = buffered.try_clone().ok()?;
        let room = max_append.checked_add(ALIGN)?;
        let at = offset - offset % ALIGN as u64;
        let held = (offset - at) as usize;
        // The bytes before `offset` in its block are never written, nor read.
        let block = Block::new(room)?;
        let (free_tx, free) = mpsc::sync_channel(BUFFERS);
        for _ in 1..BUFFERS {
            free_tx.send(Block::new(room)?).ok()?;
        }
        let (jobs, queue) = mpsc::sync_channel(BUFFERS);
        let thread = std::thread::Builder::new()
            .name("hearth-file-write".into())
            .spawn(move || write_jobs(direct, buffered_copy, offset, queue, free_tx))
            .ok()?;
        Some(DirectWriter {
            jobs: Some(jobs),
            free: std::sync::Mutex::new(free),
            thread: Some(thread),
            block,
            held,
            at,
            room,
        })
    }

    /// The file offset the next append continues at.
    pub(crate) fn next_offset(&self) -> u64 {
        self.at + self.held as u64
    }

    /// Room for the next `n` bytes, to be filled and then [`append`](Self::append)ed;
    /// `None` if `n` is more than this writer takes at a time.
    pub(crate) fn spare(&mut self, n: usize) -> Option<&mut [u8]> {
        let from = self.held;
        (from + n <= self.room).then(|| self.block.bytes_mut(from..from + n))
    }

    /// Takes the `n` bytes just filled in through [`spare`](Self::spare), and hands
    /// the whole blocks held to the writing thread (waiting for a free buffer if two
    /// are queued already).
    pub(crate) fn append(&mut self, n: usize) -> io::Result<()> {
        self.held += n;
        let whole = self.held - self.held % ALIGN;
        if whole == 0 {
            return Ok(());
        }
        let free = self.free.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut next = free.recv().map_err(|_| stopped())?;
        let rest = self.held - whole;
        next.bytes_mut(0..rest)
            .copy_from_slice(&self.block.bytes(self.held)[whole..]);
        let block = std::mem::replace(&mut self.block, next);
        self.send(Job::Blocks {
            block,
            len: whole,
            at: self.at,
        })?;
        self.held = rest;
        self.at += whole as u64;
        Ok(())
    }

    /// Has what is held (less than a block) written through the page cache, after
    /// everything appended before it, so that every byte appended is in the file
    /// once the [`Written`] returned says so.
    pub(crate) fn settle(&mut self) -> io::Result<Written> {
        if self.held > 0 {
            let bytes = self.block.bytes(self.held).to_vec();
            self.send(Job::Rest { bytes, at: self.at })?;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Job::Mark(tx))?;
        Ok(Written(rx))
    }

    fn send(&self, job: Job) -> io::Result<()> {
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(job).map_err(|_| stopped())
    }
}

impl Drop for DirectWriter {
    /// Waits for what was handed over to be written: nothing of this writer's is
    /// still being written when the next one opens the file.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("the file's writer stopped")
}

/// The writing thread: jobs in order, never a byte before `floor`. A refused direct
/// write goes through the page cache instead, as every write after it; any other
/// error is answered to every mark from then on, since bytes are missing from the
/// file.
fn write_jobs(
    direct: File,
    buffered: File,
    floor: u64,
    jobs: mpsc::Receiver<Job>,
    free: mpsc::SyncSender<Block>,
) {
    let mut direct = Some(direct);
    let mut failed: Option<(io::ErrorKind, String)> = None;
    let keep = |failed: &mut Option<_>, e: io::Error| {
        failed.get_or_insert((e.kind(), e.to_string()));
    };
    for job in jobs {
        match job {
            Job::Blocks { block, len, at } => {
                let mut bytes = block.bytes(len);
                let mut at = at;
                if at < floor {
                    // The first block: only its part from `floor` on, through the
                    // page cache; the blocks after it directly.
                    let skip = (floor - at) as usize;
                    if let Err(e) = buffered.write_all_at(&bytes[skip..ALIGN], floor) {
                        keep(&mut failed, e);
                    }
                    bytes = &bytes[ALIGN..];
                    at += ALIGN as u64;
                }
                let written = match &direct {
                    _ if bytes.is_empty() => Ok(()),
                    Some(file) => file.write_all_at(bytes, at).or_else(|e| {
                        // Refused, or cut short (which leaves the next write
                        // misaligned): the page cache takes it, and all after it.
                        tracing::warn!(error = %e, "direct writes refused; writing through the page cache");
                        direct = None;
                        buffered.write_all_at(bytes, at)
                    }),
                    None => buffered.write_all_at(bytes, at),
                };
                if let Err(e) = written {
                    keep(&mut failed, e);
                }
                // The writer may be gone: then so is the need for buffers.
                let _ = free.try_send(block);
            }
            Job::Rest { bytes, at } => {
                let skip = floor.saturating_sub(at).min(bytes.len() as u64) as usize;
                if let Err(e) = buffered.write_all_at(&bytes[skip..], at + skip as u64) {
                    keep(&mut failed, e);
                }
            }
            Job::Mark(reply) => {
                let result = match &failed {
                    Some((kind, why)) => Err(io::Error::new(*kind, why.clone())),
                    None => Ok(()),
                };
                let _ = reply.send(result);
            }
        }
    }
}

/// Whether two open files are the same file (not one put in the other's place).
fn same_file(a: &File, b: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (a.metadata(), b.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use std::fs::{self, File, OpenOptions};
    use std::os::unix::fs::FileExt;

    use super::{ALIGN, DirectWriter};

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn open(path: &std::path::Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap()
    }

    /// A direct writer on `path`, or `None` (the test says it was skipped) where the
    /// temporary directory's file system takes no direct writes, unless
    /// `HEARTH_REQUIRE_DIRECT_IO=1` (set by CI) makes that a failure.
    fn direct(path: &std::path::Path, buffered: &File, offset: u64) -> Option<DirectWriter> {
        let writer = DirectWriter::open(path, buffered, offset, 70_000);
        if writer.is_none() {
            assert!(
                std::env::var_os("HEARTH_REQUIRE_DIRECT_IO").is_none(),
                "{} takes no direct writes",
                path.display()
            );
            eprintln!("skipped: {} takes no direct writes", path.display());
        }
        writer
    }

    /// Appends `parts` in order from `offset` on, with a tail written after
    /// `tail_after`; the file as it is then.
    fn stream(
        dir: &std::path::Path,
        offset: u64,
        parts: &[Vec<u8>],
        tail_after: usize,
    ) -> Option<Vec<u8>> {
        let path = dir.join("f");
        let buffered = open(&path);
        let mut writer = direct(&path, &buffered, offset)?;
        for (i, part) in parts.iter().enumerate() {
            writer.spare(part.len()).unwrap().copy_from_slice(part);
            writer.append(part.len()).unwrap();
            if i == tail_after {
                writer.settle().unwrap().wait().unwrap();
            }
        }
        writer.settle().unwrap().wait().unwrap();
        drop(writer);
        Some(fs::read(&path).unwrap())
    }

    #[test]
    fn a_stream_of_unaligned_appends_lands_exactly_where_it_belongs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // A header of 64 bytes already in the file, as a download's is.
        let header = pattern(64, 9);
        File::create(&path)
            .unwrap()
            .write_all_at(&header, 0)
            .unwrap();
        let parts = vec![pattern(65_552, 1), pattern(65_552, 2), pattern(1_000, 3)];
        let Some(on_disk) = stream(dir.path(), 64, &parts, 0) else {
            return;
        };
        let expected: Vec<u8> = [header, parts.concat()].concat();
        assert_eq!(on_disk.len(), expected.len());
        assert!(
            on_disk == expected,
            "the file differs from what was appended"
        );
    }

    #[test]
    fn a_stream_continues_after_bytes_already_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Three blocks and a bit held from before: the stream goes on after them.
        let before = pattern(3 * ALIGN + 100, 5);
        File::create(&path)
            .unwrap()
            .write_all_at(&before, 0)
            .unwrap();
        let parts = vec![pattern(5_000, 6), pattern(9_000, 7)];
        let Some(on_disk) = stream(dir.path(), before.len() as u64, &parts, 1) else {
            return;
        };
        assert!(on_disk == [before, parts.concat()].concat());
    }

    /// A file deleted while its first chunks are being written has its header
    /// wiped first: the stream must not put it back.
    #[test]
    fn nothing_before_the_start_of_the_stream_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let buffered = open(&path);
        buffered.write_all_at(&pattern(64, 9), 0).unwrap();
        let Some(mut writer) = direct(&path, &buffered, 64) else {
            return;
        };
        buffered.write_all_at(&[0; 64], 0).unwrap();
        let part = pattern(3 * ALIGN, 2);
        writer.spare(part.len()).unwrap().copy_from_slice(&part);
        writer.append(part.len()).unwrap();
        writer.settle().unwrap().wait().unwrap();
        drop(writer);
        let on_disk = fs::read(&path).unwrap();
        assert_eq!(on_disk[..64], [0; 64], "the wiped header came back");
        assert!(on_disk[64..] == part[..]);
    }

    #[test]
    fn a_refused_direct_write_goes_through_the_page_cache_instead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let buffered = open(&path);
        let Some(mut writer) = direct(&path, &buffered, 0) else {
            return;
        };
        // An offset no disk takes directly, as a refusal midway would leave it.
        writer.at = 100;
        let part = pattern(2 * ALIGN + 7, 4);
        writer.spare(part.len()).unwrap().copy_from_slice(&part);
        writer.append(part.len()).unwrap();
        writer.settle().unwrap().wait().unwrap();
        let on_disk = fs::read(&path).unwrap();
        assert_eq!(on_disk.len(), 100 + part.len());
        assert!(on_disk[100..] == part[..]);
    }

    #[test]
    fn an_append_over_the_limit_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let buffered = open(&path);
        let Some(mut writer) = direct(&path, &buffered, 0) else {
            return;
        };
        assert!(writer.spare(70_000 + ALIGN + 1).is_none());
        assert!(writer.spare(70_000).is_some());
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
    }
}
