//! Length-prefixed frames on a libp2p stream, with a size limit checked before any
//! allocation.

use futures::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer announced a frame over the protocol's limit.
    #[error("frame of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream closed cleanly between frames.
    #[error("stream closed")]
    Closed,
    /// An I/O error.
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
}

/// A stream of one Hearth protocol, carrying frames of at most `max` bytes.
pub struct FramedStream {
    stream: libp2p::Stream,
    max: usize,
}

impl std::fmt::Debug for FramedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramedStream")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl FramedStream {
    pub(crate) fn new(stream: libp2p::Stream, max: usize) -> FramedStream {
        FramedStream { stream, max }
    }

    /// Lowers the largest frame this stream takes, for a reader that expects only
    /// small ones from whoever opened it: a bigger frame is refused before it is
    /// read, not buffered.
    pub fn limit(&mut self, max: usize) {
        self.max = self.max.min(max);
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), FrameError> {
        write_frame(&mut self.stream, frame, self.max).await
    }

    /// Receives one frame.
    pub async fn recv(&mut self) -> Result<Vec<u8>, FrameError> {
        read_frame(&mut self.stream, self.max).await
    }

    /// Closes the writing side, telling the peer no more frames come.
    pub async fn close(&mut self) -> Result<(), FrameError> {
        self.stream.close().await?;
        Ok(())
    }

    /// Splits into halves that can be used from two tasks.
    pub fn split(self) -> (FrameReader, FrameWriter) {
        let (read, write) = self.stream.split();
        (
            FrameReader {
                read,
                max: self.max,
            },
            FrameWriter {
                write,
                max: self.max,
            },
        )
    }
}

/// The reading half of a [`FramedStream`].
pub struct FrameReader {
    read: ReadHalf<libp2p::Stream>,
    max: usize,
}

impl FrameReader {
    /// Receives one frame.
    pub async fn recv(&mut self) -> Result<Vec<u8>, FrameError> {
        read_frame(&mut self.read, self.max).await
    }
}

/// The writing half of a [`FramedStream`].
pub struct FrameWriter {
    write: WriteHalf<libp2p::Stream>,
    max: usize,
}

impl FrameWriter {
    /// Sends one frame.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), FrameError> {
        write_frame(&mut self.write, frame, self.max).await
    }

    /// Sends raw bytes with no framing: only for tests that play a misbehaving peer,
    /// with the `test-util` feature.
    #[cfg(feature = "test-util")]
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        self.write.write_all(bytes).await?;
        self.write.flush().await?;
        Ok(())
    }

    /// Closes the writing side.
    pub async fn close(&mut self) -> Result<(), FrameError> {
        self.write.close().await?;
        Ok(())
    }
}

async fn write_frame<W: futures::AsyncWrite + Unpin>(
    w: &mut W,
    frame: &[u8],
    max: usize,
) -> Result<(), FrameError> {
    if frame.len() > max {
        return Err(FrameError::TooLarge {
            len: frame.len(),
            max,
        });
    }
    let len = u32::try_from(frame.len()).map_err(|_| FrameError::TooLarge {
        len: frame.len(),
        max,
    })?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(frame).await?;
    w.flush().await?;
    Ok(())
}

async fn read_frame<R: futures::AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut frame = vec![0u8; len];
    r.read_exact(&mut frame).await?;
    Ok(frame)
}
