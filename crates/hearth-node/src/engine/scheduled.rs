//! Send later: a text written now that shows at a chosen time ("at their
//! morning", "when their quiet hours end", or at an instant).
//!
//! The op ([`OpBody::Scheduled`]) goes to the partner's device at once, like any
//! other, so it shows there on time even if this device is off by then. Until its
//! time, the partner's device keeps it out of every view (no message event, no
//! notification, not in history, no change events), and this device shows it as
//! scheduled; the sender may edit it, or cancel it (a delete), until then. Owns the
//! scheduled messages not yet shown, both ways, and the partner's that were
//! cancelled before they showed (the `scheduled` setting). As one shows, the store
//! moves its row to the end of the timeline on each device
//! ([`hearth_store::Store::show_last`]): it reads where it appeared.

use std::collections::BTreeSet;

use hearth_core::{MessageId, Op, OpBody, OpId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_SCHEDULED: &str = "scheduled";

/// The furthest ahead a message can be scheduled.
const MAX_AHEAD_MS: i64 = 366 * 24 * 3600 * 1000;
/// The nearest: a time already passing is no schedule.
const MIN_AHEAD_MS: i64 = 1000;
/// The partner's morning, on their clock.
const MORNING_MINUTE: u16 = 8 * 60;
/// The most cancelled messages remembered.
const MAX_CANCELLED: usize = 1000;
/// The most messages waiting to show; past it, one shows as it comes.
const MAX_WAITING: usize = 1000;

/// What a handle can ask of the scheduled room.
pub(crate) enum ScheduledCommand {
    Send {
        text: String,
        reply_to: Option<MessageId>,
        at: SendAt,
        reply: Reply<MessageView>,
    },
    Cancel {
        id: MessageId,
        reply: Reply<()>,
    },
}

#[derive(Default, Serialize, Deserialize)]
pub(super) struct ScheduledRoom {
    /// Scheduled messages not shown yet, by when they show: mine and the partner's.
    waiting: BTreeSet<(i64, OpId)>,
    /// The partner's scheduled messages cancelled before they showed.
    cancelled: BTreeSet<OpId>,
}

impl ScheduledRoom {
    fn waiting(&self, id: OpId) -> Option<i64> {
        self.waiting
            .iter()
            .find(|(_, w)| *w == id)
            .map(|(at, _)| *at)
    }
}

/// The first instant after `now` when the clock in `zone` reads `minute`.
fn next_wall_minute(zone: &str, minute: u16, now: Timestamp) -> Option<Timestamp> {
    let zone = jiff::tz::TimeZone::get(zone).ok()?;
    let here = now.to_zoned(zone.clone());
    let time = jiff::civil::Time::new(
        i8::try_from(minute / 60).ok()?,
        i8::try_from(minute % 60).ok()?,
        0,
        0,
    )
    .ok()?;
    [0, 1, 2]
        .into_iter()
        .filter_map(|d| here.date().checked_add(jiff::Span::new().days(d)).ok())
        .filter_map(|date| date.to_datetime(time).to_zoned(zone.clone()).ok())
        .map(|z| z.timestamp())
        .find(|at| *at > now)
}

impl Engine {
    pub(super) async fn on_scheduled_command(&mut self, command: ScheduledCommand) {
        match command {
            ScheduledCommand::Send {
                text,
                reply_to,
                at,
                reply,
            } => {
                let _ = reply.send(self.send_later(text, reply_to, at).await);
            }
            ScheduledCommand::Cancel { id, reply } => {
                let result = match self.scheduled.waiting(id.op()) {
                    Some(_) if id.op().author == self.me => match self.find_mine(id) {
                        Ok(target) => self.write(OpBody::Delete { target }).await.map(drop),
                        Err(e) => Err(e),
                    },
                    _ => Err(Refusal::NotScheduled.into()),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// When `at` is, ms since the epoch.
    fn reveal_time(&self, at: SendAt) -> Result<i64, NodeError> {
        let now = self.wall_now();
        let partner = self.partner.as_ref().ok_or(NodeError::NotPaired)?;
        let zone = partner.profile.time_zone.clone();
        let device = partner.device;
        let at = match at {
            SendAt::At(ms) => ms,
            SendAt::PartnerMorning => next_wall_minute(&zone, MORNING_MINUTE, now)
                .ok_or(Refusal::BadScheduleTime)?
                .as_millisecond(),
            SendAt::AfterPartnerQuiet => {
                let agreed = self.bounds_agreement();
                let hours = agreed.quiet.get(&device).ok_or(Refusal::NoQuietHours)?;
                next_wall_minute(&zone, hours.end, now)
                    .ok_or(Refusal::BadScheduleTime)?
                    .as_millisecond()
            }
        };
        let ahead = at.saturating_sub(now.as_millisecond());
        if !(MIN_AHEAD_MS..=MAX_AHEAD_MS).contains(&ahead) {
            return Err(Refusal::BadScheduleTime.into());
        }
        Ok(at)
    }

    async fn send_later(
        &mut self,
        text: String,
        reply_to: Option<MessageId>,
        at: SendAt,
    ) -> Result<MessageView, NodeError> {
        let reveal_at_ms = self.reveal_time(at)?;
        let reply_to = match reply_to {
            Some(id) => Some(self.find(id)?.op.id),
            None => None,
        };
        let op = self
            .write(OpBody::Scheduled {
                text,
                reply_to,
                reveal_at_ms,
            })
            .await?;
        match self.store.message(op.id)? {
            Some(message) => Ok(self.view(&message)),
            None => Err(Refusal::Damaged("a message just written is not in the store").into()),
        }
    }

    pub(super) fn keep_scheduled(&self) {
        if let Err(e) = self.store.set_setting(SETTING_SCHEDULED, &self.scheduled) {
            tracing::warn!(error = %e, "could not keep the scheduled messages");
        }
    }

    /// Whether a message is kept out of view here: the partner's, scheduled and
    /// not shown yet, or cancelled before it showed.
    pub(super) fn is_hidden(&self, id: OpId) -> bool {
        id.author != self.me
            && (self.scheduled.cancelled.contains(&id) || self.scheduled.waiting(id).is_some())
    }

    /// [`Engine::is_hidden`], or by the message itself: the partner's, sent for a
    /// time still ahead (should the record of those waiting have been lost).
    pub(super) fn is_hidden_message(&self, message: &hearth_core::Message) -> bool {
        if self.is_hidden(message.op.id) {
            return true;
        }
        let now = self.wall_now().as_millisecond();
        message.op.id.author != self.me
            && matches!(message.op.body, OpBody::Scheduled { reveal_at_ms, .. }
                if reveal_at_ms > now && reveal_at_ms.saturating_sub(now) <= MAX_AHEAD_MS)
    }

    /// When my scheduled message shows, if it has not yet.
    pub(super) fn scheduled_for(&self, id: OpId) -> Option<i64> {
        if id.author == self.me {
            self.scheduled.waiting(id)
        } else {
            None
        }
    }

    /// A scheduled message was written here or came from the partner. Returns
    /// whether it shows now (its time has passed already).
    pub(super) fn on_scheduled_op(&mut self, op: &Op) -> bool {
        let OpBody::Scheduled { reveal_at_ms, .. } = op.body else {
            return true;
        };
        let now = self.wall_now().as_millisecond();
        if reveal_at_ms <= now {
            return true;
        }
        // A time further ahead than a sender may choose, or more waiting than a
        // couple writes: it shows now rather than never.
        if reveal_at_ms.saturating_sub(now) > MAX_AHEAD_MS
            || self.scheduled.waiting.len() >= MAX_WAITING
        {
            return true;
        }
        self.scheduled.waiting.insert((reveal_at_ms, op.id));
        self.keep_scheduled();
        // Mine shows here at once, as scheduled; the partner's waits.
        op.id.author == self.me
    }

    /// A scheduled message found in the log (folding it again): held back if its
    /// time is still ahead and it was not cancelled. Returns whether it was new.
    pub(super) fn fold_scheduled(&mut self, op: &Op) -> bool {
        let OpBody::Scheduled { reveal_at_ms, .. } = op.body else {
            return false;
        };
        let now = self.wall_now().as_millisecond();
        let ahead = reveal_at_ms.saturating_sub(now);
        let cancelled = self.scheduled.cancelled.contains(&op.id)
            || self
                .store
                .message(op.id)
                .ok()
                .flatten()
                .is_none_or(|m| m.state.is_deleted());
        if ahead <= 0
            || ahead > MAX_AHEAD_MS
            || cancelled
            || self.scheduled.waiting(op.id).is_some()
            || self.scheduled.waiting.len() >= MAX_WAITING
        {
            return false;
        }
        self.scheduled.waiting.insert((reveal_at_ms, op.id));
        true
    }

    /// A message was deleted: a scheduled one that had not shown is cancelled,
    /// when its author deleted it.
    pub(super) fn on_scheduled_deleted(&mut self, op: &Op) {
        let OpBody::Delete { target } = op.body else {
            return;
        };
        if target.author != op.id.author {
            return;
        }
        let Some(at) = self.scheduled.waiting(target) else {
            return;
        };
        self.scheduled.waiting.remove(&(at, target));
        if target.author != self.me && self.scheduled.cancelled.len() < MAX_CANCELLED {
            self.scheduled.cancelled.insert(target);
        }
        self.keep_scheduled();
    }

    /// The shared history was forgotten: so are the scheduled messages.
    pub(super) fn forget_scheduled(&mut self) {
        self.scheduled = ScheduledRoom::default();
    }

    /// Every second: the scheduled messages whose time has come show.
    pub(super) async fn maintain_scheduled(&mut self) {
        let now = self.wall_now().as_millisecond();
        let due: Vec<(i64, OpId)> = self
            .scheduled
            .waiting
            .iter()
            .take_while(|(at, _)| *at <= now)
            .copied()
            .collect();
        if due.is_empty() {
            return;
        }
        for entry in &due {
            self.scheduled.waiting.remove(entry);
        }
        self.keep_scheduled();
        for (_, id) in due {
            let Ok(Some(message)) = self.store.message(id) else {
                continue;
            };
            if message.state.is_deleted() {
                continue;
            }
            // It shows after everything this device holds now, on both devices.
            if let Err(e) = self.store.show_last(id) {
                tracing::warn!(error = %e, "could not move a message sent for later to its place");
            }
            let view = self.view(&message);
            if id.author == self.me {
                self.emit(NodeEvent::MessageChanged(view)).await;
            } else {
                self.emit(NodeEvent::Message(view.clone())).await;
                self.on_new_message(&message.op, &view).await;
            }
            self.emit(NodeEvent::Revealed { id: MessageId(id) }).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partners_morning_is_their_next_eight_oclock() {
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        // 23:10 in Toronto (EST): their morning is 08:00 the next day, 13:00 UTC.
        assert_eq!(
            next_wall_minute("America/Toronto", 8 * 60, at("2027-01-15T04:10:00Z")),
            Some(at("2027-01-15T13:00:00Z"))
        );
        // 07:00 there: this very morning.
        assert_eq!(
            next_wall_minute("America/Toronto", 8 * 60, at("2027-01-15T12:00:00Z")),
            Some(at("2027-01-15T13:00:00Z"))
        );
        // 08:00 exactly has passed: the next day's.
        assert_eq!(
            next_wall_minute("America/Toronto", 8 * 60, at("2027-01-15T13:00:00Z")),
            Some(at("2027-01-16T13:00:00Z"))
        );
        // The night Toronto's clocks go forward, their 08:00 is an hour sooner in UTC.
        assert_eq!(
            next_wall_minute("America/Toronto", 8 * 60, at("2027-03-14T03:00:00Z")),
            Some(at("2027-03-14T12:00:00Z"))
        );
    }
}
