//! The sync room: carries out what the [`machine`] decides. It opens writers
//! ([`streams::write_session`]), reads the partner's streams
//! ([`streams::read_session`]), stores and flushes the partner's ops before the
//! machine may acknowledge them, records acknowledgements and tells the UI.
//!
//! Owns [`SyncRoom`]: the machine and the writer of the current session. The only
//! room that applies the partner's ops to the store.

use hearth_core::wire::{self, SyncFrame};
use hearth_core::{DeviceId, Op};
use hearth_net::FramedStream;
use hearth_store::{Store, StoreError};
use tokio::sync::mpsc;

pub(crate) mod machine;
mod streams;

use self::machine::{Log, Output, Stored, SyncMachine, WRITER_QUEUE};
use super::{Engine, Internal};
use crate::types::*;

/// What the sync tasks report.
pub(crate) enum SyncInternal {
    /// A frame from the partner, with its share of the receive budget: released
    /// once the engine has handled (and stored) it.
    Frame(SyncFrame, tokio::sync::OwnedSemaphorePermit),
    Violation(String),
    Wrote {
        session: u64,
    },
    WriterClosed {
        session: u64,
    },
    /// Time to try a session again after a writer closed while the partner stayed.
    Retry,
}

/// How soon a session is tried again after its writer closed while the partner is
/// still connected: right after pairing, the partner may refuse our stream for the
/// moment it takes to record the pairing.
const RETRY_SESSION: std::time::Duration = std::time::Duration::from_millis(100);

impl From<SyncInternal> for Internal {
    fn from(message: SyncInternal) -> Internal {
        Internal::Sync(message)
    }
}

/// Bytes of the partner's frames read but not yet handled, at most: the reader
/// stops reading past this, so the partner's device is held back by the
/// connection's own flow control instead of filling this device's memory.
const RECEIVE_BUDGET: usize = 16 * 1024 * 1024;

/// The sync room's state.
pub(crate) struct SyncRoom {
    /// None until paired.
    machine: Option<SyncMachine>,
    /// The current session's writer: its number and its queue.
    writer: Option<(u64, mpsc::Sender<SyncFrame>)>,
    /// The task reading the partner's stream: one at a time.
    reader: Option<tokio::task::AbortHandle>,
    /// What the reader may hold unhandled ([`RECEIVE_BUDGET`]).
    budget: std::sync::Arc<tokio::sync::Semaphore>,
}

impl SyncRoom {
    pub(super) fn new(me: DeviceId, partner: Option<&Partner>) -> SyncRoom {
        SyncRoom {
            machine: partner.map(|p| SyncMachine::new(me, p.device)),
            writer: None,
            reader: None,
            budget: std::sync::Arc::new(tokio::sync::Semaphore::new(RECEIVE_BUDGET)),
        }
    }
}

impl Log for Store {
    fn held(&self, author: DeviceId) -> u64 {
        Store::held(self, author)
    }

    fn held_all(&self) -> Vec<(DeviceId, u64)> {
        Store::held_all(self)
    }

    fn acked(&self, author: DeviceId) -> u64 {
        Store::acked(self, author)
    }

    fn ops_after(&self, author: DeviceId, after: u64, limit: usize) -> Result<Vec<Op>, String> {
        Store::ops_after(self, author, after, limit).map_err(|e| e.to_string())
    }
}

impl Engine {
    /// The partner is connected (or still is, at a tick): make sure a session runs.
    pub(super) async fn sync_connected(&mut self) {
        let outputs = match &mut self.sync.machine {
            Some(machine) if !machine.in_session() => machine.connected(&self.store),
            _ => return,
        };
        self.carry_sync(outputs).await;
    }

    pub(super) fn sync_disconnected(&mut self) {
        if let Some(machine) = &mut self.sync.machine {
            machine.disconnected();
        }
        self.sync.writer = None;
    }

    /// This device wrote ops: send them if a session runs.
    pub(super) async fn sync_appended(&mut self) {
        let outputs = match &mut self.sync.machine {
            Some(machine) => machine.appended(&self.store),
            None => return,
        };
        self.carry_sync(outputs).await;
    }

    pub(super) fn sync_typing(&mut self) {
        let outputs = match &mut self.sync.machine {
            Some(machine) => machine.typing(),
            None => return,
        };
        for output in outputs {
            if let Output::Send { session, frame } = output {
                self.send_frame(session, frame);
            }
        }
    }

    /// The partner opened its stream to us: read it in a task, in place of any
    /// earlier one (what that one had not delivered comes again after the next
    /// hello), so a device opening stream after stream gains nothing.
    pub(super) fn incoming_sync(&mut self, stream: FramedStream) {
        let budget = self.sync.budget.clone();
        let reader = self.spawn(streams::read_session(
            stream,
            budget,
            self.internal_tx.clone(),
        ));
        if let Some(earlier) = self.sync.reader.replace(reader) {
            earlier.abort();
        }
    }

    pub(super) async fn on_sync_internal(&mut self, message: SyncInternal) {
        if let SyncInternal::Frame(SyncFrame::Unpair { tag }, _) = &message {
            self.on_unpair_notice(*tag).await;
            return;
        }
        if let SyncInternal::Frame(SyncFrame::Whereabouts { addrs }, _) = message {
            self.on_partner_whereabouts(addrs);
            return;
        }
        if let SyncInternal::Frame(SyncFrame::Hello { have }, _) = &message {
            let theirs = have
                .iter()
                .find(|(author, _)| *author == self.me)
                .map_or(0, |(_, seq)| *seq);
            self.partner_holds_of_mine(theirs);
        }
        // Only a restored device takes ops of its own log from the partner.
        let restoring = matches!(&message, SyncInternal::Frame(SyncFrame::Ops { .. }, _))
            && self.restored_waiting();
        let Some(machine) = &mut self.sync.machine else {
            return;
        };
        machine.set_restoring(restoring);
        let outputs = match message {
            SyncInternal::Frame(frame, permit) => {
                let outputs = machine.frame(frame, &self.store);
                // Handled (and stored, and flushed) before the budget is given back.
                self.carry_sync(outputs).await;
                drop(permit);
                return;
            }
            SyncInternal::Violation(reason) => vec![Output::Violation(reason)],
            SyncInternal::Wrote { session } => machine.wrote(session, &self.store),
            SyncInternal::WriterClosed { session } => {
                machine.writer_closed(session);
                if self
                    .sync
                    .writer
                    .as_ref()
                    .is_some_and(|(s, _)| *s == session)
                {
                    self.sync.writer = None;
                    if self.presence.online {
                        let internal = self.internal_tx.clone();
                        self.spawn(async move {
                            tokio::time::sleep(RETRY_SESSION).await;
                            let _ = internal.send(SyncInternal::Retry.into()).await;
                        });
                    }
                }
                Vec::new()
            }
            SyncInternal::Retry => {
                if self.presence.online {
                    self.sync_connected().await;
                }
                return;
            }
        };
        self.carry_sync(outputs).await;
    }

    /// Does what the machine asked, feeding back what storing ops gave, until it
    /// asks nothing more.
    async fn carry_sync(&mut self, outputs: Vec<Output>) {
        let mut queue = std::collections::VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match output {
                Output::OpenWriter { session } => {
                    self.open_writer(session);
                    self.send_whereabouts();
                }
                Output::Send { session, frame } => self.send_frame(session, frame),
                Output::Store(ops) => {
                    let read_before = self.store.read_up_to(self.me);
                    let (stored, new) = self.store_partner_ops(&ops);
                    // The ack goes out first; showing the ops can wait a moment.
                    if let Some(machine) = &mut self.sync.machine {
                        for output in machine.stored(stored, &self.store) {
                            match output {
                                Output::Send { session, frame } => self.send_frame(session, frame),
                                other => queue.push_back(other),
                            }
                        }
                    }
                    self.announce_all(&new).await;
                    let read_after = self.store.read_up_to(self.me);
                    self.announce_delivery(read_before, read_after, Delivery::Read)
                        .await;
                }
                Output::Acked { up_to } => {
                    let before = self.store.acked(self.me);
                    if let Err(e) = self.store.set_acked(self.me, up_to) {
                        tracing::warn!(error = %e, "could not record an acknowledgement");
                        continue;
                    }
                    self.announce_delivery(before, up_to, Delivery::Delivered)
                        .await;
                }
                Output::Typing => self.emit(NodeEvent::Typing).await,
                Output::Violation(reason) => {
                    tracing::warn!(%reason, "the partner's device broke the sync protocol; disconnecting");
                    if let Some(machine) = &mut self.sync.machine {
                        machine.disconnected();
                    }
                    self.sync.writer = None;
                    if let Ok(partner) = self.partner_device() {
                        let _ = self.net.disconnect(partner).await;
                    }
                }
            }
        }
    }

    fn open_writer(&mut self, session: u64) {
        let Ok(partner) = self.partner_device() else {
            return;
        };
        // Room for the machine's queue plus the frames it sends beyond it (an ack
        // or typing when the queue is full is dropped by the machine, not here).
        let (frames, rx) = mpsc::channel(WRITER_QUEUE + 2);
        self.spawn(streams::write_session(
            self.net.clone(),
            partner,
            session,
            rx,
            self.internal_tx.clone(),
        ));
        self.sync.writer = Some((session, frames));
    }

    /// Tells the partner, in the session now running, where this device can be
    /// reached: the only way it learns this device's listen addresses.
    pub(super) fn send_whereabouts(&mut self) {
        let Some((session, _)) = &self.sync.writer else {
            return;
        };
        let addrs = self
            .internet
            .reachable()
            .iter()
            .take(wire::MAX_WHEREABOUTS)
            .cloned()
            .collect();
        self.send_frame(*session, SyncFrame::Whereabouts { addrs });
    }

    /// The partner said where it can be reached: remembered first, for the next
    /// dial. Addresses that are not ones are left out.
    fn on_partner_whereabouts(&mut self, addrs: Vec<String>) {
        let addrs: Vec<String> = addrs
            .into_iter()
            .filter(|a| hearth_net::addr_to_bytes(a).is_ok())
            .collect();
        tracing::debug!(addrs = addrs.len(), "the partner said where it is");
        self.remember_partner_addrs(addrs);
    }

    fn send_frame(&mut self, session: u64, frame: SyncFrame) {
        if let Some((current, frames)) = &self.sync.writer
            && *current == session
            && frames.try_send(frame).is_err()
        {
            // The writer ended; its report closes the session.
            tracing::debug!("sync writer gone; frame dropped");
        }
    }

    /// Applies the partner's ops and makes them durable, before any ack; returns
    /// how that went and the ops that were new.
    pub(super) fn store_partner_ops(&mut self, ops: &[Op]) -> (Stored, Vec<Op>) {
        let applied = match self.store.apply_remote(ops) {
            Ok(applied) => applied,
            Err(StoreError::Gap { .. }) => return (Stored::Gap, Vec::new()),
            Err(e @ StoreError::Invalid(_)) => return (Stored::Refused(e.to_string()), Vec::new()),
            // The disk, not the partner: nothing is acknowledged, it comes again.
            Err(e) => {
                tracing::warn!(error = %e, "could not store the partner's ops");
                return (Stored::Failed, Vec::new());
            }
        };
        // Kept in the log and acknowledged like any op, so they are never sent
        // again: said once, here, without flooding the log.
        const SHOWN: usize = 5;
        for (id, why) in applied.ignored.iter().take(SHOWN) {
            tracing::warn!(
                seq = id.seq,
                why,
                "kept an op from the partner's device but ignored it"
            );
        }
        if applied.ignored.len() > SHOWN {
            tracing::warn!(
                count = applied.ignored.len() - SHOWN,
                "ignored more ops from the partner's device out of bounds"
            );
        }
        // Durable before acknowledged: a crash after the ack must not lose what the
        // partner now believes we hold.
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "could not flush received ops");
            return (Stored::Failed, Vec::new());
        }
        (Stored::Durable, applied.new)
    }
}
