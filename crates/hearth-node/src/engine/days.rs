//! The couple's days: together since, the next time they meet, anniversaries.
//!
//! Owns the days folded from both logs ([`hearth_core::Days`], kept in the
//! `days` setting so a start does not read the logs again) and which reminders
//! were given today. Writes a [`OpBody::Day`] op for each change; every day op,
//! this device's or the partner's, is folded in as it is announced, so both
//! devices hold the same days once they have the same ops. Counts and reminders
//! follow this user's own time zone: each device reminds on its own day.

use std::collections::BTreeMap;

use hearth_core::{CivilDate, DayChange, DayEntry, DayKey, DayKind, Days, MessageId, Op, OpBody};

use super::Engine;
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_DAYS: &str = "days";
pub(super) const SETTING_REMINDED: &str = "days-reminded";

/// The most anniversaries a couple keeps.
pub(crate) const MAX_ANNIVERSARIES: usize = 64;

/// What a handle can ask of the days room.
pub(crate) enum DaysCommand {
    Get(Reply<DaysView>),
    Set {
        kind: DayKindView,
        /// An anniversary to change; `None` adds one.
        id: Option<String>,
        date: String,
        title: String,
        reply: Reply<DaysView>,
    },
    Remove {
        id: String,
        reply: Reply<DaysView>,
    },
}

#[derive(Default)]
pub(super) struct DaysRoom {
    pub(super) days: Days,
    /// The day each entry was last reminded of.
    reminded: BTreeMap<DayKey, CivilDate>,
    /// The day the last counts were given for.
    today: Option<CivilDate>,
}

impl DaysRoom {
    pub(super) fn load(store: &hearth_store::Store) -> DaysRoom {
        DaysRoom {
            days: super::setting_or_default(store, SETTING_DAYS),
            reminded: super::setting_or_default(store, SETTING_REMINDED),
            today: None,
        }
    }
}

fn kind_of(kind: DayKindView) -> DayKind {
    match kind {
        DayKindView::TogetherSince => DayKind::TogetherSince,
        DayKindView::Meeting => DayKind::Meeting,
        DayKindView::Anniversary => DayKind::Anniversary,
    }
}

fn key_id(key: DayKey) -> String {
    match key {
        DayKey::TogetherSince => "together_since".into(),
        DayKey::Meeting => "meeting".into(),
        DayKey::Anniversary(op) => MessageId(op).to_string(),
    }
}

fn key_of_id(id: &str) -> Result<DayKey, NodeError> {
    match id {
        "together_since" => Ok(DayKey::TogetherSince),
        "meeting" => Ok(DayKey::Meeting),
        other => other
            .parse::<MessageId>()
            .map(|m| DayKey::Anniversary(m.op()))
            .map_err(|_| Refusal::NoSuchDay.into()),
    }
}

impl Engine {
    pub(super) async fn on_days_command(&mut self, command: DaysCommand) {
        match command {
            DaysCommand::Get(reply) => {
                let _ = reply.send(Ok(self.days_view()));
            }
            DaysCommand::Set {
                kind,
                id,
                date,
                title,
                reply,
            } => {
                let result = self.set_day(kind, id, &date, title).await;
                let _ = reply.send(result.map(|()| self.days_view()));
            }
            DaysCommand::Remove { id, reply } => {
                let result = self.remove_day(&id).await;
                let _ = reply.send(result.map(|()| self.days_view()));
            }
        }
    }

    async fn set_day(
        &mut self,
        kind: DayKindView,
        id: Option<String>,
        date: &str,
        title: String,
    ) -> Result<(), NodeError> {
        let parsed = CivilDate::parse(date).ok_or_else(|| Refusal::BadDate(date.to_string()))?;
        let title = title.trim().to_string();
        if title.len() > hearth_core::limits::MAX_DAY_TITLE_BYTES {
            return Err(Refusal::DayTitleTooLong.into());
        }
        let entry = match (kind, id) {
            (DayKindView::Anniversary, Some(id)) => match key_of_id(&id)? {
                DayKey::Anniversary(op)
                    if self.days.days.get(DayKey::Anniversary(op)).is_some() =>
                {
                    Some(op)
                }
                _ => return Err(Refusal::NoSuchDay.into()),
            },
            (DayKindView::Anniversary, None) => {
                if self.days.days.anniversaries() >= MAX_ANNIVERSARIES {
                    return Err(Refusal::TooManyDays {
                        max: MAX_ANNIVERSARIES,
                    }
                    .into());
                }
                None
            }
            (_, _) => None,
        };
        self.write(OpBody::Day(DayChange {
            kind: kind_of(kind),
            entry,
            date: Some(parsed),
            title,
        }))
        .await
        .map(drop)
    }

    async fn remove_day(&mut self, id: &str) -> Result<(), NodeError> {
        let key = key_of_id(id)?;
        let Some(current) = self.days.days.get(key) else {
            return Err(Refusal::NoSuchDay.into());
        };
        let (kind, entry) = match key {
            DayKey::TogetherSince => (DayKind::TogetherSince, None),
            DayKey::Meeting => (DayKind::Meeting, None),
            DayKey::Anniversary(op) => (DayKind::Anniversary, Some(op)),
        };
        let title = current.title.clone();
        self.write(OpBody::Day(DayChange {
            kind,
            entry,
            date: None,
            title,
        }))
        .await
        .map(drop)
    }

    /// A day op was written here or came from the partner: fold it in, keep it,
    /// and tell the UI.
    pub(super) async fn on_day_op(&mut self, op: &Op) {
        if !self.days.days.apply(op) {
            return;
        }
        if let Err(e) = self.store.set_setting(SETTING_DAYS, &self.days.days) {
            tracing::warn!(error = %e, "could not keep the couple's days");
        }
        self.emit(NodeEvent::Days(self.days_view())).await;
        self.remind_today().await;
    }

    /// The shared history was forgotten: the days go with it.
    pub(super) fn forget_days(&mut self) {
        self.days = DaysRoom::default();
    }

    /// Today in this user's time zone (the system's when no profile is set).
    pub(super) fn today(&self) -> CivilDate {
        let zone = self
            .profile
            .as_ref()
            .and_then(|p| jiff::tz::TimeZone::get(&p.time_zone).ok())
            .unwrap_or_else(jiff::tz::TimeZone::system);
        let date = self.wall_now().to_zoned(zone).date();
        CivilDate {
            year: date.year(),
            month: date.month().unsigned_abs(),
            day: date.day().unsigned_abs(),
        }
    }

    fn day_view(&self, key: DayKey, entry: &DayEntry, today: CivilDate) -> Option<DayView> {
        let date = entry.date?;
        let (kind, days, years) = match key {
            DayKey::TogetherSince => {
                let next = date.next_yearly(today);
                (
                    DayKindView::TogetherSince,
                    today.day_number() - date.day_number(),
                    Some(i64::from(next.year) - i64::from(date.year)),
                )
            }
            DayKey::Meeting => (
                DayKindView::Meeting,
                date.day_number() - today.day_number(),
                None,
            ),
            DayKey::Anniversary(_) => {
                let next = date.next_yearly(today).max(date);
                (
                    DayKindView::Anniversary,
                    next.day_number() - today.day_number(),
                    Some(i64::from(next.year) - i64::from(date.year)),
                )
            }
        };
        Some(DayView {
            id: key_id(key),
            kind,
            date: date.to_string(),
            title: entry.title.clone(),
            set_by: if entry.by == self.me {
                Author::Me
            } else {
                Author::Partner
            },
            days,
            years,
        })
    }

    pub(super) fn days_view(&self) -> DaysView {
        let today = self.today();
        let view = |key| {
            self.days
                .days
                .get(key)
                .and_then(|e| self.day_view(key, e, today))
        };
        let mut anniversaries: Vec<DayView> = self
            .days
            .days
            .entries()
            .filter(|(k, _)| matches!(k, DayKey::Anniversary(_)))
            .filter_map(|(k, e)| self.day_view(k, e, today))
            .collect();
        anniversaries.sort_by_key(|d| d.days);
        DaysView {
            today: today.to_string(),
            together_since: view(DayKey::TogetherSince),
            meeting: view(DayKey::Meeting),
            anniversaries,
        }
    }

    /// Reminds of each date that is today and was not reminded of today yet.
    async fn remind_today(&mut self) {
        let today = self.today();
        let due: Vec<(DayKey, DayView)> = self
            .days
            .days
            .entries()
            .filter(|(key, _)| self.days.reminded.get(key) != Some(&today))
            .filter_map(|(key, entry)| {
                let date = entry.date?;
                let is_today = match key {
                    DayKey::Meeting => date == today,
                    // Not on the very day it was, only when it comes round.
                    DayKey::TogetherSince | DayKey::Anniversary(_) => {
                        date < today && date.next_yearly(today) == today
                    }
                };
                is_today.then(|| self.day_view(key, entry, today).map(|v| (key, v)))?
            })
            .collect();
        if due.is_empty() {
            return;
        }
        for (key, view) in due {
            self.days.reminded.insert(key, today);
            self.emit(NodeEvent::Reminder(view)).await;
        }
        // Only today's are worth keeping.
        self.days.reminded.retain(|_, day| *day == today);
        if let Err(e) = self
            .store
            .set_setting(SETTING_REMINDED, &self.days.reminded)
        {
            tracing::warn!(error = %e, "could not keep which dates were reminded of");
        }
    }

    /// Every second: a new day here brings new counts, and its reminders.
    pub(super) async fn maintain_days(&mut self) {
        let today = self.today();
        if self.days.today == Some(today) {
            return;
        }
        let first = self.days.today.is_none();
        self.days.today = Some(today);
        if !first && self.days.days.entries().next().is_some() {
            self.emit(NodeEvent::Days(self.days_view())).await;
        }
        self.remind_today().await;
    }
}
