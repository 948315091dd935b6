//! The couple's days: the date they have been together since, the next time they
//! meet, and anniversaries and other dates they remember. Each is a last-writer-wins
//! register in the shared log ([`OpBody::Day`]): whoever wrote later in the timeline's
//! order wins, so two devices that merged the same ops hold the same days whatever
//! order the ops came in. A removal is kept as a tombstone, so an older change that
//! arrives late does not bring an entry back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Op, OpBody, OpId, TimelinePos};

/// A calendar date, with no time zone: a day as both partners name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CivilDate {
    /// The year, 1900 to 2200.
    pub year: i16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to its last day.
    pub day: u8,
}

impl CivilDate {
    /// The years a date may be in.
    pub const YEARS: std::ops::RangeInclusive<i16> = 1900..=2200;

    /// A checked date.
    pub fn new(year: i16, month: u8, day: u8) -> Option<CivilDate> {
        let date = CivilDate { year, month, day };
        date.is_valid().then_some(date)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<CivilDate> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?;
        let month = parts.next()?;
        let day = parts.next()?;
        if year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        CivilDate::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
    }

    /// Days since 1970-01-01 (negative before it): the difference of two of these is
    /// the number of days between the dates.
    pub fn day_number(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let (y, m, d) = (
            i64::from(self.year) - i64::from(self.month <= 2),
            i64::from(self.month),
            i64::from(self.day),
        );
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// This date in `year`: the 29th of February falls on the 28th in a year
    /// without one.
    pub fn in_year(&self, year: i16) -> CivilDate {
        let day = self.day.min(days_in_month(year, self.month));
        CivilDate {
            year,
            month: self.month,
            day,
        }
    }

    /// The next time this date comes round, every year, on or after `today`.
    pub fn next_yearly(&self, today: CivilDate) -> CivilDate {
        let this_year = self.in_year(today.year);
        if this_year >= today {
            this_year
        } else {
            self.in_year(today.year.saturating_add(1))
        }
    }

    /// Whether the date exists (the 30th of February does not).
    pub fn is_valid(&self) -> bool {
        Self::YEARS.contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }
}

impl std::fmt::Display for CivilDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Which of the couple's days an op sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DayKind {
    /// The day they have been together since: one for the couple.
    TogetherSince,
    /// The next time they meet: one for the couple.
    Meeting,
    /// An anniversary or another date to remember, every year: as many as they like.
    Anniversary,
}

/// A change to one of the couple's days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayChange {
    /// Which day.
    pub kind: DayKind,
    /// For an anniversary, the op that added it; `None` adds a new one. Ignored for
    /// the together-since and meeting dates, of which there is one each.
    pub entry: Option<OpId>,
    /// The date, or `None` to remove the entry.
    pub date: Option<CivilDate>,
    /// What it is ("Tirana", "The day we met"); may be empty.
    pub title: String,
}

/// Where an entry lives in [`Days`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DayKey {
    /// The together-since date.
    TogetherSince,
    /// The next meeting.
    Meeting,
    /// An anniversary, by the op that added it.
    Anniversary(OpId),
}

impl DayKey {
    /// The entry an op changes.
    pub fn of(op_id: OpId, change: &DayChange) -> DayKey {
        match change.kind {
            DayKind::TogetherSince => DayKey::TogetherSince,
            DayKind::Meeting => DayKey::Meeting,
            DayKind::Anniversary => DayKey::Anniversary(change.entry.unwrap_or(op_id)),
        }
    }
}

/// One of the couple's days as it stands: the last change written to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayEntry {
    /// The date; `None` when removed.
    pub date: Option<CivilDate>,
    /// What it is.
    pub title: String,
    /// Who set it last.
    pub by: DeviceId,
    /// Where that change sits in the timeline: the later change wins.
    pub stamp: TimelinePos,
}

/// The couple's days, folded from every [`OpBody::Day`] op of both logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Days {
    entries: BTreeMap<DayKey, DayEntry>,
}

impl Days {
    /// The most days kept, removed ones included.
    pub const MAX_ENTRIES: usize = 256;

    /// Folds one op in. Returns whether anything changed; ops that are not day
    /// changes, or older than what the entry holds, change nothing.
    pub fn apply(&mut self, op: &Op) -> bool {
        let OpBody::Day(change) = &op.body else {
            return false;
        };
        let key = DayKey::of(op.id, change);
        let stamp = op.pos();
        if self.entries.get(&key).is_some_and(|e| e.stamp >= stamp) {
            return false;
        }
        // Bounded, removed ones included: a partner cannot grow the state
        // without end by naming anniversaries that never were.
        if !self.entries.contains_key(&key) && self.entries.len() >= Self::MAX_ENTRIES {
            return false;
        }
        self.entries.insert(
            key,
            DayEntry {
                date: change.date,
                title: change.title.clone(),
                by: op.id.author,
                stamp,
            },
        );
        true
    }

    /// The entry under `key`, if it is set (not removed).
    pub fn get(&self, key: DayKey) -> Option<&DayEntry> {
        self.entries.get(&key).filter(|e| e.date.is_some())
    }

    /// Every entry that is set, together-since first, then the meeting, then the
    /// anniversaries in the order they were added.
    pub fn entries(&self) -> impl Iterator<Item = (DayKey, &DayEntry)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.date.is_some())
            .map(|(k, e)| (*k, e))
    }

    /// How many anniversaries are set.
    pub fn anniversaries(&self) -> usize {
        self.entries()
            .filter(|(k, _)| matches!(k, DayKey::Anniversary(_)))
            .count()
    }

    /// Forgets everything (the shared history was deleted).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
