//! Moods: "how I feel today", a row of the timeline that also colours the strip
//! over the weeks.
//!
//! Owns the strip folded from both logs ([`hearth_core::Moods`], kept in the
//! `moods` setting so a start does not read the logs again). A mood is written as
//! an [`OpBody::Mood`] op dated with this user's own day (in their time zone), so
//! both devices put it on the same day of the strip; the message it makes is
//! announced like any other, and deleting it (its author only) takes it off the
//! strip on both devices.

use hearth_core::{CivilDate, MessageId, MoodRecord, MoodShare, Op, OpBody};

use super::Engine;
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_MOODS: &str = "moods";

/// The most days of the strip one request returns.
pub(crate) const MAX_STRIP_DAYS: usize = 400;

/// What a handle can ask of the moods room.
pub(crate) enum MoodsCommand {
    /// The strip: each one's mood of each day, the newest `days` days of each.
    Get {
        days: usize,
        reply: Reply<MoodsView>,
    },
    /// Shares how I feel today.
    Share {
        mood: String,
        note: String,
        reply: Reply<MessageView>,
    },
}

/// A shared mood as the UI shows it.
pub(super) fn mood_view(share: &MoodShare) -> MoodView {
    MoodView {
        mood: hearth_core::mood_name(share.mood)
            .unwrap_or("unknown")
            .to_string(),
        note: share.note.clone(),
        day: share.day.to_string(),
    }
}

fn day_view(record: &MoodRecord) -> MoodDayView {
    MoodDayView {
        id: MessageId(record.id),
        mood: mood_view(&MoodShare {
            mood: record.mood,
            note: record.note.clone(),
            day: record.day,
        }),
        at: record.at_ms,
    }
}

impl Engine {
    pub(super) async fn on_moods_command(&mut self, command: MoodsCommand) {
        match command {
            MoodsCommand::Get { days, reply } => {
                let _ = reply.send(Ok(self.moods_view(days)));
            }
            MoodsCommand::Share { mood, note, reply } => {
                let _ = reply.send(self.share_mood(&mood, note).await);
            }
        }
    }

    async fn share_mood(&mut self, mood: &str, note: String) -> Result<MessageView, NodeError> {
        let code = hearth_core::mood_code(mood.trim())
            .ok_or_else(|| Refusal::UnknownMood(mood.to_string()))?;
        let note = note.trim().to_string();
        if note.len() > hearth_core::limits::MAX_MOOD_NOTE_BYTES {
            return Err(Refusal::MoodNoteTooLong.into());
        }
        let day: CivilDate = self.today();
        let op = self
            .write(OpBody::Mood(MoodShare {
                mood: code,
                note,
                day,
            }))
            .await?;
        match self.store.message(op.id)? {
            Some(message) => Ok(self.view(&message)),
            None => Err(Refusal::Damaged("a mood just written is not in the store").into()),
        }
    }

    /// A mood, or the deletion of a message, was written here or came from the
    /// partner: fold it into the strip, keep it, and tell the UI when it changed.
    pub(super) async fn on_mood_op(&mut self, op: &Op) {
        if !self.moods.apply(op) {
            return;
        }
        if let Err(e) = self.store.set_setting(SETTING_MOODS, &self.moods) {
            tracing::warn!(error = %e, "could not keep the mood strip");
        }
        self.emit(NodeEvent::Moods(self.moods_view(MAX_STRIP_DAYS)))
            .await;
    }

    /// The shared history was forgotten: the moods go with it.
    pub(super) fn forget_moods(&mut self) {
        self.moods.clear();
    }

    pub(super) fn moods_view(&self, days: usize) -> MoodsView {
        let days = days.min(MAX_STRIP_DAYS);
        let strip = |author| {
            let by_day = self.moods.by_day(author);
            let skip = by_day.len().saturating_sub(days);
            by_day
                .values()
                .skip(skip)
                .map(|r| day_view(r))
                .collect::<Vec<_>>()
        };
        MoodsView {
            mine: strip(self.me),
            partner: self
                .partner
                .as_ref()
                .map(|p| strip(p.device))
                .unwrap_or_default(),
        }
    }
}
