//! The two halves of a sync session with the partner: a writer task that opens our
//! `/hearth/sync/1` stream and sends the engine's frames on it, and a reader task per
//! inbound stream that decodes the partner's frames and hands them to the engine.
//!
//! Neither touches the store: the engine applies, flushes and acknowledges, so the
//! order "durable, then acked" lives in one place.

use hearth_core::DeviceId;
use hearth_core::wire::{self, SyncFrame};
use hearth_net::{FrameError, FramedStream, Net, Protocol};
use tokio::sync::mpsc;

use super::SyncInternal;
use crate::engine::Internal;

/// Opens the sync stream to `partner` and writes `frames` to it until either side
/// closes. Tells the engine after each frame, so it can queue more.
pub(crate) async fn write_session(
    net: Net,
    partner: DeviceId,
    session: u64,
    mut frames: mpsc::Receiver<SyncFrame>,
    internal: mpsc::Sender<Internal>,
) {
    let result = async {
        let stream = net
            .open(partner, Protocol::Sync)
            .await
            .map_err(|e| e.to_string())?;
        // The partner never writes on our stream; reading only tells us when it is
        // gone, so a refused or broken session is noticed at once rather than at the
        // next frame, and the engine's tick opens a new one.
        let (mut closed, mut stream) = stream.split();
        loop {
            tokio::select! {
                frame = frames.recv() => {
                    let Some(frame) = frame else { break };
                    stream
                        .send(&wire::encode_frame(&frame))
                        .await
                        .map_err(|e| e.to_string())?;
                    if internal.send(SyncInternal::Wrote { session }.into()).await.is_err() {
                        break;
                    }
                }
                _ = closed.recv() => return Err("the partner closed the sync stream".to_string()),
            }
        }
        let _ = stream.close().await;
        Ok::<(), String>(())
    }
    .await;
    if let Err(reason) = result {
        tracing::debug!(%reason, "sync stream closed");
    }
    let _ = internal
        .send(SyncInternal::WriterClosed { session }.into())
        .await;
}

/// Reads the partner's frames until the stream ends. A frame over the limit or one
/// that does not decode ends the session as a protocol violation: the engine drops
/// the peer, and nothing of the frame reaches the store.
pub(crate) async fn read_session(
    mut stream: FramedStream,
    budget: std::sync::Arc<tokio::sync::Semaphore>,
    internal: mpsc::Sender<Internal>,
) {
    loop {
        let message = match stream.recv().await {
            Ok(bytes) => {
                // Its share of the budget before it is decoded: a frame is at most
                // 4 MiB, the budget 16 MiB, so this only waits for the engine.
                let share = u32::try_from(bytes.len().max(64)).unwrap_or(u32::MAX);
                let Ok(permit) = budget.clone().acquire_many_owned(share).await else {
                    return;
                };
                match wire::decode_frame(&bytes) {
                    Ok(frame) => SyncInternal::Frame(frame, permit),
                    Err(e) => SyncInternal::Violation(format!("undecodable sync frame: {e}")),
                }
            }
            Err(FrameError::TooLarge { len, max }) => {
                SyncInternal::Violation(format!("sync frame of {len} bytes (limit {max})"))
            }
            Err(_) => return,
        };
        let stop = matches!(message, SyncInternal::Violation(_));
        if internal.send(message.into()).await.is_err() || stop {
            return;
        }
    }
}
