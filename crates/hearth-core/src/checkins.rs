//! Check-ins: recurring times the couple agree to talk ("Sundays 20:00 Tirana").
//! Each is a last-writer-wins register in the shared log ([`OpBody::CheckIn`]), by
//! the op that added it: the later change in the timeline's order wins, and a
//! removal is kept as a tombstone, so two devices that merged the same ops hold the
//! same check-ins whatever order the ops came in.
//!
//! A check-in is a wall time in a named time zone, not an instant: it stays at
//! 20:00 in Tirana across daylight-saving changes there, and moves for the other
//! partner when their own clocks change. Working out the instants is the engine's
//! (it has the time zone database); this crate only keeps what was agreed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Op, OpBody, OpId, TimelinePos};

/// The longest time zone name a check-in carries.
pub const MAX_ZONE_BYTES: usize = 64;

/// A recurring check-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The days of the week, Monday in bit 0 to Sunday in bit 6.
    pub weekdays: u8,
    /// Minutes after midnight, below 1440.
    pub minute: u16,
    /// The IANA time zone the time is in (`Europe/Tirane`).
    pub zone: String,
}

impl CheckIn {
    /// At least one day, a time within the day, and a plausible zone name.
    pub fn is_valid(&self) -> bool {
        self.weekdays != 0
            && self.weekdays < 0x80
            && self.minute < 1440
            && !self.zone.is_empty()
            && self.zone.len() <= MAX_ZONE_BYTES
    }

    /// Whether it falls on `weekday` (0 Monday to 6 Sunday).
    pub fn on(&self, weekday: u8) -> bool {
        weekday < 7 && self.weekdays & (1 << weekday) != 0
    }
}

/// A change to the check-ins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInChange {
    /// The check-in to change, by the op that added it; `None` adds one.
    pub entry: Option<OpId>,
    /// What it becomes; `None` removes it.
    pub checkin: Option<CheckIn>,
}

/// A check-in as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInEntry {
    /// What it is; `None` once removed.
    pub checkin: Option<CheckIn>,
    /// Who set it last.
    pub by: DeviceId,
    /// Where that change sits in the timeline: the later change wins.
    pub stamp: TimelinePos,
}

/// The couple's check-ins, folded from every [`OpBody::CheckIn`] op of both logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIns {
    entries: BTreeMap<OpId, CheckInEntry>,
}

impl CheckIns {
    /// The most check-ins kept, removed ones included.
    pub const MAX_ENTRIES: usize = 256;

    /// Folds one op in. Returns whether anything changed.
    pub fn apply(&mut self, op: &Op) -> bool {
        let OpBody::CheckIn(change) = &op.body else {
            return false;
        };
        let key = change.entry.unwrap_or(op.id);
        let stamp = op.pos();
        if self.entries.get(&key).is_some_and(|e| e.stamp >= stamp) {
            return false;
        }
        // Bounded, removed ones included: a partner cannot grow the state
        // without end by naming check-ins that never were.
        if !self.entries.contains_key(&key) && self.entries.len() >= Self::MAX_ENTRIES {
            return false;
        }
        self.entries.insert(
            key,
            CheckInEntry {
                checkin: change.checkin.clone(),
                by: op.id.author,
                stamp,
            },
        );
        true
    }

    /// Every check-in set (not removed), in the order they were added.
    pub fn entries(&self) -> impl Iterator<Item = (OpId, &CheckInEntry, &CheckIn)> {
        self.entries
            .iter()
            .filter_map(|(id, e)| e.checkin.as_ref().map(|c| (*id, e, c)))
    }

    /// The check-in added by `id`, if it is set.
    pub fn get(&self, id: OpId) -> Option<&CheckIn> {
        self.entries.get(&id)?.checkin.as_ref()
    }

    /// Forgets everything (the shared history was deleted).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
