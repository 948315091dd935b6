//! Moods: "how I feel today", shared as a row of the timeline ([`OpBody::Mood`]) so
//! the partner sees it where they read, can react to it, and its author can delete
//! it. [`Moods`] folds the moods of both logs into the strip over the weeks: the
//! latest mood each partner shared on each of their days.
//!
//! A mood is a small number, not an enum on the wire: a build that does not know a
//! newer mood still syncs and shows the op (as a mood it cannot name) instead of
//! refusing it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{CivilDate, DeviceId, Op, OpBody, OpId, TimelinePos};

/// The moods this build can name, by their number on the wire. New ones are added
/// at the end; a number is never reused.
pub const MOODS: [&str; 8] = [
    "joy", "loved", "calm", "excited", "missing", "tired", "low", "stressed",
];

/// The name of mood number `code`, if this build knows it.
pub fn mood_name(code: u8) -> Option<&'static str> {
    MOODS.get(usize::from(code)).copied()
}

/// The number of the mood named `name`.
pub fn mood_code(name: &str) -> Option<u8> {
    MOODS
        .iter()
        .position(|m| *m == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// A mood as shared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoodShare {
    /// Which mood: see [`MOODS`].
    pub mood: u8,
    /// A few words about it; may be empty.
    pub note: String,
    /// The author's own date when they shared it, in their time zone: the day of
    /// the strip it colours.
    pub day: CivilDate,
}

/// One mood in the strip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoodRecord {
    /// The op that shared it.
    pub id: OpId,
    /// Which mood.
    pub mood: u8,
    /// Its note.
    pub note: String,
    /// The author's day.
    pub day: CivilDate,
    /// The author's wall clock when shared, ms since the epoch.
    pub at_ms: i64,
}

/// The moods of both partners, folded from both logs: at most [`Moods::KEPT`]
/// of each author's, the newest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moods {
    by_pos: BTreeMap<TimelinePos, MoodRecord>,
    /// Moods their author deleted: a deletion stays, whatever order ops came in.
    deleted: BTreeSet<OpId>,
}

impl Moods {
    /// How many moods of each author are kept: a year of one a day, and some.
    pub const KEPT: usize = 400;

    /// Folds one op in: a mood, or the deletion of one. Returns whether the strip
    /// changed.
    pub fn apply(&mut self, op: &Op) -> bool {
        match &op.body {
            OpBody::Mood(share) => {
                if self.deleted.contains(&op.id) || self.by_pos.contains_key(&op.pos()) {
                    return false;
                }
                self.by_pos.insert(
                    op.pos(),
                    MoodRecord {
                        id: op.id,
                        mood: share.mood,
                        note: share.note.clone(),
                        day: share.day,
                        at_ms: op.wall_ms,
                    },
                );
                self.trim(op.id.author);
                true
            }
            // Only its author deletes a message: a deletion by anyone else is not
            // theirs to make.
            OpBody::Delete { target } if target.author == op.id.author => {
                let before = self.by_pos.len();
                self.by_pos.retain(|_, r| r.id != *target);
                let removed = self.by_pos.len() != before;
                // A bounded number of tombstones (past it the oldest go): a
                // partner deleting without end cannot grow the strip's state.
                self.deleted.insert(*target);
                while self.deleted.len() > Self::KEPT * 2 {
                    self.deleted.pop_first();
                }
                removed
            }
            _ => false,
        }
    }

    fn trim(&mut self, author: DeviceId) {
        let theirs: Vec<TimelinePos> = self
            .by_pos
            .keys()
            .filter(|p| p.author == author)
            .copied()
            .collect();
        if let Some(excess) = theirs.len().checked_sub(Self::KEPT) {
            for pos in &theirs[..excess] {
                self.by_pos.remove(pos);
            }
        }
    }

    /// Every mood kept, oldest first in the timeline's order.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = (&TimelinePos, &MoodRecord)> {
        self.by_pos.iter()
    }

    /// `author`'s mood of each day: the last they shared that day.
    pub fn by_day(&self, author: DeviceId) -> BTreeMap<CivilDate, &MoodRecord> {
        let mut days = BTreeMap::new();
        for (pos, record) in &self.by_pos {
            if pos.author == author {
                days.insert(record.day, record);
            }
        }
        days
    }

    /// Forgets everything (the shared history was deleted).
    pub fn clear(&mut self) {
        self.by_pos.clear();
        self.deleted.clear();
    }
}
