//! The sync session as a state machine with no I/O: inputs in, outputs out.
//!
//! Inputs: the partner connected or went away, this device appended ops, a frame
//! arrived, the writer task sent a frame or closed, and the result of storing what
//! the partner sent. Outputs: open a writer, send a frame on it, store ops (and then
//! tell the machine how that went), record an acknowledgement, show typing, drop the
//! partner for breaking the protocol.
//!
//! The machine reads the logs through [`Log`] and never writes: writing and flushing
//! are the engine's, so "durable, then acknowledged" holds by construction — the
//! machine only asks for an `Ack` after [`SyncMachine::stored`] says the ops are on
//! disk. The tests at the bottom drive it with scripts and compare what it says.

use hearth_core::wire::{self, SyncFrame};
use hearth_core::{DeviceId, Op};

/// Most ops per `Ops` frame: a 10k catch-up of texts is a few dozen writes.
pub(crate) const BATCH_OPS: usize = 128;
/// Most encoded bytes of ops per `Ops` frame (beyond its first op). Ops are counted
/// by bytes too: 128 photo messages with their thumbnails are over 4 MiB, past the
/// frame limit, and such a batch would fail and be sent again forever.
pub(crate) const BATCH_BYTES: usize = 1024 * 1024;
const _: () = assert!(BATCH_BYTES + wire::MAX_OP_BYTES + 64 <= wire::MAX_FRAME_BYTES);
/// Frames handed to the writer and not yet written, before the machine waits.
pub(crate) const WRITER_QUEUE: usize = 16;

/// What the machine reads of the two logs.
pub(crate) trait Log {
    /// Highest seq of `author`'s log held without a gap.
    fn held(&self, author: DeviceId) -> u64;
    /// `held` for every author known.
    fn held_all(&self) -> Vec<(DeviceId, u64)>;
    /// Highest seq of `author`'s log the partner has confirmed holding.
    fn acked(&self, author: DeviceId) -> u64;
    /// Up to `limit` ops of `author` after seq `after`, in order.
    fn ops_after(&self, author: DeviceId, after: u64, limit: usize) -> Result<Vec<Op>, String>;
}

/// What the engine must do for the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Start a writer task for session `session`: open our stream to the partner.
    OpenWriter {
        /// The session's number; frames and writer reports carry it.
        session: u64,
    },
    /// Hand this frame to the writer of `session`.
    Send {
        /// Which writer.
        session: u64,
        /// The frame.
        frame: SyncFrame,
    },
    /// Store the partner's ops, flush, then call [`SyncMachine::stored`].
    Store(Vec<Op>),
    /// The partner now holds this device's log up to `up_to` (more than before):
    /// record it and tell the UI those messages are delivered.
    Acked {
        /// Highest seq confirmed.
        up_to: u64,
    },
    /// The partner is typing.
    Typing,
    /// The partner's device broke the protocol: disconnect it. Nothing of what it
    /// sent has been stored.
    Violation(String),
}

/// How storing the partner's ops went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// On disk.
    Durable,
    /// The batch would leave a hole in the partner's log (frames of an older session
    /// overlapping a newer one): nothing stored.
    Gap,
    /// The store refused the ops as invalid.
    Refused(String),
    /// The disk failed; nothing is acknowledged, the partner sends again.
    Failed,
}

/// The live link to the partner: how far our writer has been given frames.
#[derive(Debug)]
struct Session {
    id: u64,
    /// Highest seq of our log handed to the writer.
    sent_up_to: u64,
    /// Where this session began sending: what the partner had acknowledged.
    started_from: u64,
    /// Frames handed to the writer and not reported written.
    in_flight: usize,
}

/// The sync session with the partner. One per engine; it outlives connections.
#[derive(Debug)]
pub(crate) struct SyncMachine {
    me: DeviceId,
    partner: DeviceId,
    session: Option<Session>,
    next_session: u64,
    /// Ops of the partner's are durable and the partner has not been told.
    ack_pending: bool,
    /// The partner's ops came with a gap: tell it again what we hold.
    hello_pending: bool,
    /// This device was restored from a backup and may lack the end of its own log,
    /// which the partner's device holds: it takes its own ops from the partner.
    restoring: bool,
    /// Our own ops the partner sent back (while restoring), being stored: once
    /// durable, the partner plainly holds our log up to here.
    own_tail: Option<u64>,
    /// The partner lacks the end of its own log (it was restored): how far of it
    /// has been handed back this session.
    returning: Option<u64>,
}

impl SyncMachine {
    pub(crate) fn new(me: DeviceId, partner: DeviceId) -> SyncMachine {
        SyncMachine {
            me,
            partner,
            session: None,
            next_session: 0,
            ack_pending: false,
            hello_pending: false,
            restoring: false,
            own_tail: None,
            returning: None,
        }
    }

    /// Whether this device was restored and still waits to reach the partner's: only
    /// then are ops of its own log taken from the partner. The partner's device is
    /// trusted for them, as it is for the rest of what it holds.
    pub(crate) fn set_restoring(&mut self, restoring: bool) {
        self.restoring = restoring;
    }

    /// Whether a session is open (a writer running or being started).
    pub(crate) fn in_session(&self) -> bool {
        self.session.is_some()
    }

    /// The partner is connected: start a session unless one is running. The first
    /// frame says what we hold, so the partner sends what we miss.
    pub(crate) fn connected(&mut self, log: &impl Log) -> Vec<Output> {
        let mut out = Vec::new();
        if self.session.is_some() {
            return out;
        }
        self.next_session += 1;
        let id = self.next_session;
        out.push(Output::OpenWriter { session: id });
        // Resume after what the partner confirmed; its Hello corrects this.
        let acked = log.acked(self.me);
        self.session = Some(Session {
            id,
            sent_up_to: acked,
            started_from: acked,
            in_flight: 0,
        });
        // The session's own Hello says what we hold; no other is owed.
        self.hello_pending = false;
        self.send(
            SyncFrame::Hello {
                have: log.held_all(),
            },
            &mut out,
        );
        self.pump(log, &mut out);
        out
    }

    /// The partner went away (or the writer could not reach it): the session is over.
    /// Whatever was in flight is sent again from the partner's next Hello.
    pub(crate) fn disconnected(&mut self) {
        self.session = None;
    }

    /// This device appended to its log.
    pub(crate) fn appended(&mut self, log: &impl Log) -> Vec<Output> {
        let mut out = Vec::new();
        self.pump(log, &mut out);
        out
    }

    /// This user is typing: tell the partner if the writer has room (never queued).
    pub(crate) fn typing(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.in_flight < WRITER_QUEUE)
        {
            self.send(SyncFrame::Typing, &mut out);
        }
        out
    }

    /// The writer of `session` wrote a frame.
    pub(crate) fn wrote(&mut self, session: u64, log: &impl Log) -> Vec<Output> {
        let mut out = Vec::new();
        if let Some(s) = self.session.as_mut().filter(|s| s.id == session) {
            s.in_flight = s.in_flight.saturating_sub(1);
            self.pump(log, &mut out);
        }
        out
    }

    /// The writer of `session` ended; a later tick or connection starts a new one.
    pub(crate) fn writer_closed(&mut self, session: u64) {
        if self.session.as_ref().is_some_and(|s| s.id == session) {
            self.session = None;
        }
    }

    /// A frame from the partner.
    pub(crate) fn frame(&mut self, frame: SyncFrame, log: &impl Log) -> Vec<Output> {
        let mut out = Vec::new();
        match frame {
            SyncFrame::Hello { have } => {
                let theirs_of_mine = have
                    .iter()
                    .find(|(author, _)| *author == self.me)
                    .map_or(0, |(_, seq)| *seq);
                let theirs_of_theirs = have
                    .iter()
                    .find(|(author, _)| *author == self.partner)
                    .map_or(0, |(_, seq)| *seq);
                // Less of its own log than we hold: a restored backup. Hand the rest
                // back, so it can write again without reusing its numbers.
                self.returning =
                    (theirs_of_theirs < log.held(self.partner)).then_some(theirs_of_theirs);
                if theirs_of_mine > log.held(self.me) {
                    tracing::warn!(
                        theirs = theirs_of_mine,
                        mine = log.held(self.me),
                        "the partner holds more of this device's log than this device does"
                    );
                }
                self.ack(theirs_of_mine, log, &mut out);
                if let Some(session) = &mut self.session {
                    let theirs = theirs_of_mine.min(log.held(self.me));
                    // Below where this session began, the partner lost ops it had
                    // acknowledged (a restored backup): send them again. Otherwise
                    // what this session already handed out arrives after the
                    // partner's Hello, in order, and is not sent twice.
                    session.sent_up_to = if theirs < session.started_from {
                        theirs
                    } else {
                        session.sent_up_to.max(theirs)
                    };
                }
                self.pump(log, &mut out);
            }
            SyncFrame::Ops { ops } => {
                let all_by = |author| ops.iter().all(|op| op.id.author == author);
                if all_by(self.partner) {
                    if !ops.is_empty() {
                        out.push(Output::Store(ops));
                    }
                } else if self.restoring && all_by(self.me) {
                    self.own_tail = ops.last().map(|op| op.id.seq);
                    out.push(Output::Store(ops));
                } else {
                    out.push(Output::Violation("ops not written by the partner".into()));
                    self.session = None;
                }
            }
            SyncFrame::Ack { author, up_to } => {
                if author == self.me {
                    self.ack(up_to, log, &mut out);
                }
            }
            SyncFrame::Typing => out.push(Output::Typing),
            // The pairing room reads a notice that the pairing ended before the
            // machine sees frames; one for another pairing means nothing here.
            SyncFrame::Unpair { .. } => {}
            // Where the partner is: the engine's, read before the machine sees it.
            SyncFrame::Whereabouts { .. } => {}
        }
        out
    }

    /// How storing the ops of the last [`Output::Store`] went.
    pub(crate) fn stored(&mut self, result: Stored, log: &impl Log) -> Vec<Output> {
        let mut out = Vec::new();
        match result {
            Stored::Durable => {
                match self.own_tail.take() {
                    // Our own ops, back from the partner: it holds them, so they
                    // are neither acknowledged to it nor sent to it again.
                    Some(up_to) => {
                        self.ack(up_to, log, &mut out);
                        if let Some(session) = &mut self.session {
                            session.sent_up_to = session.sent_up_to.max(up_to);
                        }
                    }
                    None => self.ack_pending = true,
                }
                self.pump(log, &mut out);
            }
            Stored::Gap => {
                self.own_tail = None;
                tracing::debug!("gap in the partner's ops; asking again");
                self.hello_pending = true;
                self.pump(log, &mut out);
            }
            Stored::Refused(why) => {
                self.own_tail = None;
                out.push(Output::Violation(format!("ops rejected: {why}")));
                self.session = None;
            }
            Stored::Failed => self.own_tail = None,
        }
        out
    }

    fn ack(&mut self, up_to: u64, log: &impl Log, out: &mut Vec<Output>) {
        let up_to = up_to.min(log.held(self.me));
        if up_to > log.acked(self.me) {
            out.push(Output::Acked { up_to });
        }
    }

    /// Hands a frame to the writer, counting it in flight.
    fn send(&mut self, frame: SyncFrame, out: &mut Vec<Output>) {
        if let Some(session) = &mut self.session {
            session.in_flight += 1;
            out.push(Output::Send {
                session: session.id,
                frame,
            });
        }
    }

    /// A Hello asked for by a gap, an ack owed, then ops the partner has not been
    /// sent, while the writer has room. Every frame counts against the writer's
    /// queue, so none is ever refused by it.
    fn pump(&mut self, log: &impl Log, out: &mut Vec<Output>) {
        let Some(session) = &self.session else {
            return;
        };
        if self.hello_pending && session.in_flight < WRITER_QUEUE {
            self.hello_pending = false;
            let frame = SyncFrame::Hello {
                have: log.held_all(),
            };
            self.send(frame, out);
        }
        let Some(session) = &self.session else {
            return;
        };
        if self.ack_pending && session.in_flight < WRITER_QUEUE {
            self.ack_pending = false;
            let frame = SyncFrame::Ack {
                author: self.partner,
                up_to: log.held(self.partner),
            };
            self.send(frame, out);
        }
        loop {
            let Some(session) = &self.session else {
                return;
            };
            if session.in_flight >= WRITER_QUEUE {
                return;
            }
            if session.sent_up_to >= log.held(self.me) {
                break;
            }
            let ops = match next_batch(log, self.me, session.sent_up_to) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read ops to send");
                    return;
                }
            };
            let last = ops.last().map_or(session.sent_up_to, |op| op.id.seq);
            self.send(SyncFrame::Ops { ops }, out);
            if let Some(session) = &mut self.session {
                session.sent_up_to = last;
            }
        }
        // Then the end of the partner's own log, if it lacks it.
        while let Some(returned) = self.returning {
            if self
                .session
                .as_ref()
                .is_none_or(|s| s.in_flight >= WRITER_QUEUE)
            {
                return;
            }
            let ops = match next_batch(log, self.partner, returned) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => {
                    self.returning = None;
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the partner's ops to return");
                    return;
                }
            };
            let last = ops.last().map_or(returned, |op| op.id.seq);
            self.send(SyncFrame::Ops { ops }, out);
            self.returning = (last < log.held(self.partner)).then_some(last);
        }
    }
}

/// The next batch of `author`'s ops after `after`, as a sync frame or a letter
/// carries them: at least one (if there is any), then as many as fit [`BATCH_OPS`]
/// and [`BATCH_BYTES`].
pub(crate) fn next_batch(log: &impl Log, author: DeviceId, after: u64) -> Result<Vec<Op>, String> {
    let mut ops = log.ops_after(author, after, BATCH_OPS)?;
    let mut bytes = 0;
    let fit = ops
        .iter()
        .take_while(|op| {
            bytes += op.size_bound();
            bytes <= BATCH_BYTES
        })
        .count();
    ops.truncate(fit.max(1));
    Ok(ops)
}

#[cfg(test)]
mod tests;
