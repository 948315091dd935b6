//! The views the UI gets: a stored message as a [`MessageView`] (author, text,
//! reactions, delivery state, attachment), and the events that tell the UI what a
//! new op changed.
//!
//! Owns no state and writes nothing but the partner's profile when a profile op
//! arrives.

use hearth_core::{DeviceId, Message, Op, OpBody, OpId};

use super::{Engine, SETTING_PARTNER};
use crate::types::*;

impl Engine {
    fn delivery(&self, id: OpId) -> Option<Delivery> {
        if id.author != self.me {
            return None;
        }
        Some(if self.store.read_up_to(self.me) >= id.seq {
            Delivery::Read
        } else if self.store.acked(self.me) >= id.seq {
            Delivery::Delivered
        } else if self.mailbox.deposited >= id.seq {
            Delivery::AtMailbox
        } else {
            Delivery::Queued
        })
    }

    fn author(&self, device: DeviceId) -> Author {
        if device == self.me {
            Author::Me
        } else {
            Author::Partner
        }
    }

    pub(super) fn view(&self, message: &Message) -> MessageView {
        let reply_to = match &message.op.body {
            OpBody::Text { reply_to, .. } | OpBody::Scheduled { reply_to, .. } => {
                reply_to.map(MessageId)
            }
            _ => None,
        };
        let scheduled_for = self
            .scheduled_for(message.op.id)
            .filter(|_| !message.state.is_deleted());
        // A scheduled message is said when it shows; until then the partner has
        // not read it, whatever their read marker says.
        let delivery = match self.delivery(message.op.id) {
            Some(Delivery::Read) if scheduled_for.is_some() => Some(Delivery::Delivered),
            other => other,
        };
        // Shown, a message sent for later was said when it showed; while it
        // waits, its sender sees when they wrote it.
        let sent_at = match &message.op.body {
            OpBody::Scheduled { reveal_at_ms, .. }
                if scheduled_for.is_none() && *reveal_at_ms <= self.wall_now().as_millisecond() =>
            {
                *reveal_at_ms
            }
            _ => message.op.wall_ms,
        };
        MessageView {
            id: MessageId(message.op.id),
            author: self.author(message.op.id.author),
            text: message.text().map(str::to_string),
            sent_at,
            reply_to,
            edited: message.state.edited_text().is_some(),
            // A tombstone that came before its delete is shown as deleted already;
            // a gone view-once or expiring file says so through its attachment.
            deleted: message.state.is_deleted()
                || matches!(&message.op.body, OpBody::Erased(e)
                    if !e.view_once && e.expires_after_open_secs.is_none()),
            reactions: message
                .state
                .reactions()
                .into_iter()
                .map(|r| ReactionView {
                    by: self.author(r.by),
                    emoji: r.emoji,
                })
                .collect(),
            delivery,
            attachment: self.attachment_view(message),
            scheduled_for,
            mood: match &message.op.body {
                OpBody::Mood(share) if !message.state.is_deleted() => {
                    Some(super::moods::mood_view(share))
                }
                _ => None,
            },
            // Sent for later and shown: where it showed, not where it was written.
            pos: match &message.op.body {
                OpBody::Scheduled { .. } | OpBody::Erased(_) => self
                    .store
                    .timeline_pos(&message.op)
                    .unwrap_or_else(|_| message.op.pos()),
                _ => message.op.pos(),
            },
        }
    }

    /// Tells the UI what a new op (ours or the partner's) changed.
    /// Announces ops that came together (a partner's batch): each new message in
    /// order, then each changed message once, however many ops changed it.
    pub(super) async fn announce_all(&mut self, ops: &[Op]) {
        let mut changed = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for op in ops {
            match (op.body.is_message(), op.body.target()) {
                (false, Some(target)) => {
                    self.track_files(op).await;
                    if matches!(op.body, OpBody::Delete { .. }) {
                        self.on_mood_op(op).await;
                        self.on_scheduled_deleted(op);
                    }
                    if seen.insert(target) {
                        changed.push(target);
                    }
                }
                _ => self.announce(op).await,
            }
        }
        for target in changed {
            if self.is_hidden(target) {
                continue;
            }
            if let Ok(Some(message)) = self.store.message(target) {
                self.emit(NodeEvent::MessageChanged(self.view(&message)))
                    .await;
            }
        }
    }

    pub(super) async fn announce(&mut self, op: &Op) {
        self.track_files(op).await;
        match &op.body {
            OpBody::Text { .. }
            | OpBody::Attachment(_)
            | OpBody::Mood(_)
            | OpBody::Scheduled { .. } => {
                // The partner's message scheduled for later waits, unseen.
                if !self.on_scheduled_op(op) {
                    return;
                }
                let waiting = self.scheduled_for(op.id).is_some();
                if let Ok(Some(message)) = self.store.message(op.id) {
                    let view = self.view(&message);
                    self.emit(NodeEvent::Message(view.clone())).await;
                    if !waiting {
                        self.on_new_message(op, &view).await;
                    }
                }
                self.on_mood_op(op).await;
            }
            OpBody::BoundaryProposal(_) | OpBody::BoundaryAccept { .. } => {
                self.on_boundary_op(op).await;
            }
            OpBody::Urgent { .. } => self.on_urgent(op).await,
            OpBody::CheckIn(_) => self.on_checkin_op(op).await,
            OpBody::Edit { target, .. }
            | OpBody::Delete { target }
            | OpBody::ReactionAdd { target, .. }
            | OpBody::ReactionRemove { target, .. }
            | OpBody::Opened { target }
            | OpBody::FileReady { target, .. } => {
                if !self.is_hidden(*target)
                    && let Ok(Some(message)) = self.store.message(*target)
                {
                    self.emit(NodeEvent::MessageChanged(self.view(&message)))
                        .await;
                }
                if matches!(op.body, OpBody::Delete { .. }) {
                    self.on_mood_op(op).await;
                    self.on_scheduled_deleted(op);
                }
            }
            OpBody::Day(_) => self.on_day_op(op).await,
            OpBody::Uncouple { .. } if op.id.author != self.me => {
                self.partner_uncoupled(op).await;
            }
            OpBody::Profile(change) if op.id.author != self.me => {
                if let Some(partner) = &mut self.partner {
                    let profile = &mut partner.profile;
                    if let Some(name) = &change.name {
                        profile.name.clone_from(name);
                    }
                    if let Some(language) = &change.language {
                        profile.language.clone_from(language);
                    }
                    if let Some(time_zone) = &change.time_zone {
                        profile.time_zone.clone_from(time_zone);
                    }
                    let profile = profile.clone();
                    if let Err(e) = self.store.set_setting(SETTING_PARTNER, &partner.clone()) {
                        tracing::warn!(error = %e, "could not save the partner's profile");
                    }
                    self.emit(NodeEvent::PartnerProfile(profile)).await;
                }
            }
            _ => {}
        }
    }

    /// Emits a delivery state for each of my messages with seq in `(from, to]`.
    pub(super) async fn announce_delivery(&self, from: u64, to: u64, state: Delivery) {
        if to <= from {
            return;
        }
        let Ok(ops) = self.store.ops_after(self.me, from, (to - from) as usize) else {
            return;
        };
        for op in ops.iter().filter(|op| op.body.is_message()) {
            // A message already read does not go back to merely delivered.
            if state == Delivery::Delivered && self.store.read_up_to(self.me) >= op.id.seq {
                continue;
            }
            // One scheduled for later is not read before it shows.
            if state == Delivery::Read && self.scheduled_for(op.id).is_some() {
                continue;
            }
            self.emit(NodeEvent::Delivery {
                id: MessageId(op.id),
                state,
            })
            .await;
        }
    }
}
