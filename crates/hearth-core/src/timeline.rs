use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ids::{OpId, TimelinePos};
use crate::op::{Attachment, Op, OpBody};
use crate::state::MessageState;

/// A message as a partner sees it: the op that wrote it and what happened to it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The op that wrote the message.
    pub op: Op,
    /// Edits, deletion and reactions folded in.
    pub state: MessageState,
}

impl Message {
    /// The text to show now: the latest edit, else the original; `None` once deleted.
    pub fn text(&self) -> Option<&str> {
        if self.state.is_deleted() {
            return None;
        }
        match &self.op.body {
            OpBody::Text { text, .. } | OpBody::Scheduled { text, .. } => {
                Some(self.state.edited_text().unwrap_or(text))
            }
            _ => None,
        }
    }

    /// The attachment this message shares, if it is one; `None` once deleted.
    pub fn attachment(&self) -> Option<&Attachment> {
        match &self.op.body {
            OpBody::Attachment(a) if !self.state.is_deleted() => Some(a),
            _ => None,
        }
    }

    /// Whether this message's file must be gone from both devices at `now_ms`: it was
    /// deleted, or it is view-once and was opened, or it expired after opening.
    pub fn file_is_gone(&self, now_ms: i64) -> bool {
        let a = match &self.op.body {
            OpBody::Attachment(a) => a,
            // An erased attachment has nothing left to fetch or show.
            OpBody::Erased(e) => return e.kind == crate::op::OpKind::Attachment as u16,
            _ => return false,
        };
        if self.state.is_deleted() {
            return true;
        }
        match (self.state.opened_at_ms(), a.expires_after_open_secs) {
            (Some(_), _) if a.view_once => true,
            (Some(at), Some(secs)) => {
                now_ms
                    >= at.saturating_add(
                        i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX),
                    )
            }
            _ => false,
        }
    }
}

/// The shared timeline built from ops in memory: the reference the store's on-disk
/// indexes must agree with, and what the property tests check convergence on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    seen: HashSet<OpId>,
    rows: BTreeMap<TimelinePos, Op>,
    states: HashMap<OpId, MessageState>,
}

impl Timeline {
    /// Adds an op. Returns false if it was already there.
    pub fn apply(&mut self, op: &Op) -> bool {
        if !self.seen.insert(op.id) {
            return false;
        }
        if op.body.is_message() {
            self.rows.insert(op.pos(), op.clone());
        }
        if let Some(target) = op.body.target() {
            self.states.entry(target).or_default().apply(target, op);
        }
        true
    }

    /// Every message in display order.
    pub fn messages(&self) -> Vec<Message> {
        self.rows
            .values()
            .map(|op| Message {
                op: op.clone(),
                state: self.states.get(&op.id).cloned().unwrap_or_default(),
            })
            .collect()
    }
}
