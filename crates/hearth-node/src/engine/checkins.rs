//! Check-ins: recurring times the couple agree to talk, each a wall time in a
//! named time zone ("Sundays 20:00 Europe/Tirane").
//!
//! Owns the check-ins folded from both logs ([`hearth_core::CheckIns`], in the
//! `checkins` setting) and what was reminded and judged of each
//! (`checkins-state`). Every second: a check-in whose time has come is reminded
//! of, once, on each device at the same instant (the time is worked out in the
//! check-in's own zone, so daylight-saving changes on either side move it only for
//! the other); two hours after, if not both of them wrote since half an hour
//! before, a gentle note says it was missed.

use std::collections::BTreeMap;

use hearth_core::{CheckIn, CheckInChange, MessageId, Op, OpBody, OpId};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::Reply;
use crate::types::*;

pub(super) const SETTING_CHECKINS: &str = "checkins";
pub(super) const SETTING_STATE: &str = "checkins-state";

/// The most check-ins a couple keeps.
pub(crate) const MAX_CHECKINS: usize = 16;
/// How late a reminder still comes (a device woken just after the time).
const REMIND_WITHIN: SignedDuration = SignedDuration::from_mins(15);
/// A message this long before the time counts for the check-in.
const KEPT_FROM: SignedDuration = SignedDuration::from_mins(30);
/// How long after the time a check-in is judged kept or missed.
const JUDGED_AFTER: SignedDuration = SignedDuration::from_hours(2);

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// What a handle can ask of the check-ins room.
pub(crate) enum CheckInsCommand {
    Get(Reply<CheckInsView>),
    Add {
        weekdays: Vec<String>,
        time: String,
        time_zone: String,
        reply: Reply<CheckInsView>,
    },
    Remove {
        id: MessageId,
        reply: Reply<CheckInsView>,
    },
}

/// What was reminded and judged, and when each one last wrote.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// When this device first held each check-in: no earlier time is reminded of
    /// or judged.
    seen: BTreeMap<OpId, i64>,
    /// The last time of each check-in reminded of.
    reminded: BTreeMap<OpId, i64>,
    /// The last time of each check-in judged.
    judged: BTreeMap<OpId, i64>,
    /// When I last wrote, by this device's clock.
    mine_ms: i64,
    /// When the partner's last message came.
    partner_ms: i64,
}

#[derive(Default)]
pub(super) struct CheckInsRoom {
    pub(super) checkins: hearth_core::CheckIns,
    state: State,
}

impl CheckInsRoom {
    pub(super) fn load(store: &hearth_store::Store) -> CheckInsRoom {
        CheckInsRoom {
            checkins: super::setting_or_default(store, SETTING_CHECKINS),
            state: super::setting_or_default(store, SETTING_STATE),
        }
    }
}

/// The instant of `checkin` on `date` in its zone. A time that a clock change
/// skips (02:30 on the night clocks go forward) is the instant just after the gap;
/// a time that happens twice is the first.
fn instant_on(checkin: &CheckIn, zone: &TimeZone, date: jiff::civil::Date) -> Option<Timestamp> {
    let time = jiff::civil::Time::new(
        i8::try_from(checkin.minute / 60).ok()?,
        i8::try_from(checkin.minute % 60).ok()?,
        0,
        0,
    )
    .ok()?;
    let weekday = u8::try_from(date.weekday().to_monday_zero_offset()).ok()?;
    if !checkin.on(weekday) {
        return None;
    }
    Some(
        date.to_datetime(time)
            .to_zoned(zone.clone())
            .ok()?
            .timestamp(),
    )
}

/// The check-in's first time after `after`.
pub(crate) fn next_after(checkin: &CheckIn, after: Timestamp) -> Option<Timestamp> {
    let zone = TimeZone::get(&checkin.zone).ok()?;
    let start = after.to_zoned(zone.clone()).date();
    (0..9)
        .filter_map(|d| start.checked_add(jiff::Span::new().days(d)).ok())
        .filter_map(|date| instant_on(checkin, &zone, date))
        .find(|at| *at > after)
}

/// The check-in's last time at or before `now`.
pub(crate) fn last_at_or_before(checkin: &CheckIn, now: Timestamp) -> Option<Timestamp> {
    let zone = TimeZone::get(&checkin.zone).ok()?;
    let start = now.to_zoned(zone.clone()).date();
    (0..9)
        .filter_map(|d| start.checked_sub(jiff::Span::new().days(d)).ok())
        .filter_map(|date| instant_on(checkin, &zone, date))
        .find(|at| *at <= now)
}

fn local(at: Timestamp, zone: &str) -> Option<LocalTime> {
    let here = at.to_zoned(TimeZone::get(zone).ok()?);
    let weekday = usize::try_from(here.weekday().to_monday_zero_offset()).ok()?;
    Some(LocalTime {
        weekday: WEEKDAYS[weekday].to_string(),
        date: here.date().to_string(),
        time: here.strftime("%H:%M").to_string(),
    })
}

impl Engine {
    pub(super) async fn on_checkins_command(&mut self, command: CheckInsCommand) {
        match command {
            CheckInsCommand::Get(reply) => {
                let _ = reply.send(Ok(self.checkins_view()));
            }
            CheckInsCommand::Add {
                weekdays,
                time,
                time_zone,
                reply,
            } => {
                let result = self.add_checkin(&weekdays, &time, time_zone).await;
                let _ = reply.send(result.map(|()| self.checkins_view()));
            }
            CheckInsCommand::Remove { id, reply } => {
                let result = self.remove_checkin(id).await;
                let _ = reply.send(result.map(|()| self.checkins_view()));
            }
        }
    }

    async fn add_checkin(
        &mut self,
        weekdays: &[String],
        time: &str,
        time_zone: String,
    ) -> Result<(), NodeError> {
        let mut days = 0u8;
        for day in weekdays {
            let i = WEEKDAYS
                .iter()
                .position(|w| w.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| Refusal::BadCheckIn(day.clone()))?;
            days |= 1 << i;
        }
        if days == 0 {
            return Err(Refusal::BadCheckIn(String::new()).into());
        }
        let minute = hearth_core::parse_minutes(time)
            .ok_or_else(|| Refusal::BadCheckIn(time.to_string()))?;
        let zone = time_zone.trim().to_string();
        if zone.len() > hearth_core::MAX_ZONE_BYTES || TimeZone::get(&zone).is_err() {
            return Err(Refusal::UnknownTimeZone(zone).into());
        }
        if self.checks.checkins.entries().count() >= MAX_CHECKINS {
            return Err(Refusal::TooManyCheckIns { max: MAX_CHECKINS }.into());
        }
        self.write(OpBody::CheckIn(CheckInChange {
            entry: None,
            checkin: Some(CheckIn {
                weekdays: days,
                minute,
                zone,
            }),
        }))
        .await
        .map(drop)
    }

    async fn remove_checkin(&mut self, id: MessageId) -> Result<(), NodeError> {
        if self.checks.checkins.get(id.op()).is_none() {
            return Err(Refusal::NoSuchCheckIn.into());
        }
        self.write(OpBody::CheckIn(CheckInChange {
            entry: Some(id.op()),
            checkin: None,
        }))
        .await
        .map(drop)
    }

    /// A check-in op was written here or came from the partner.
    pub(super) async fn on_checkin_op(&mut self, op: &Op) {
        if !self.checks.checkins.apply(op) {
            return;
        }
        let now = self.wall_now().as_millisecond();
        let known: Vec<OpId> = self.checks.checkins.entries().map(|(id, ..)| id).collect();
        for id in known {
            self.checks.state.seen.entry(id).or_insert(now);
        }
        self.keep_checkins();
        self.emit(NodeEvent::CheckIns(self.checkins_view())).await;
    }

    pub(super) fn keep_checkins(&self) {
        let kept = self
            .store
            .set_setting(SETTING_CHECKINS, &self.checks.checkins)
            .and_then(|()| self.store.set_setting(SETTING_STATE, &self.checks.state));
        if let Err(e) = kept {
            tracing::warn!(error = %e, "could not keep the check-ins");
        }
    }

    /// A message was written here or came from the partner: it counts for the
    /// check-in around now.
    pub(super) fn note_for_checkins(&mut self, mine: bool) {
        let now = self.wall_now().as_millisecond();
        if mine {
            self.checks.state.mine_ms = now;
        } else {
            self.checks.state.partner_ms = now;
        }
    }

    /// The shared history was forgotten: the check-ins go with it.
    pub(super) fn forget_checkins(&mut self) {
        self.checks = CheckInsRoom::default();
    }

    fn checkin_view(&self, id: OpId, by: hearth_core::DeviceId, c: &CheckIn) -> CheckInView {
        let next = next_after(c, self.wall_now());
        let my_zone = self.profile.as_ref().map(|p| p.time_zone.as_str());
        let partner_zone = self.partner.as_ref().map(|p| p.profile.time_zone.as_str());
        CheckInView {
            id: MessageId(id),
            weekdays: (0..7u8)
                .filter(|d| c.on(*d))
                .map(|d| WEEKDAYS[usize::from(d)].to_string())
                .collect(),
            time: hearth_core::format_minutes(c.minute),
            time_zone: c.zone.clone(),
            set_by: if by == self.me {
                Author::Me
            } else {
                Author::Partner
            },
            next_at: next.map(|t| t.as_millisecond()),
            mine: next.zip(my_zone).and_then(|(t, z)| local(t, z)),
            partner: next.zip(partner_zone).and_then(|(t, z)| local(t, z)),
        }
    }

    pub(super) fn checkins_view(&self) -> CheckInsView {
        let mut checkins: Vec<CheckInView> = self
            .checks
            .checkins
            .entries()
            .map(|(id, entry, c)| self.checkin_view(id, entry.by, c))
            .collect();
        checkins.sort_by_key(|c| c.next_at.unwrap_or(i64::MAX));
        CheckInsView { checkins }
    }

    /// Every second: the reminders that are due, and the check-ins to judge.
    pub(super) async fn maintain_checkins(&mut self) {
        let now = self.wall_now();
        let mut due = Vec::new();
        let mut changed = false;
        let entries: Vec<(OpId, hearth_core::DeviceId, CheckIn)> = self
            .checks
            .checkins
            .entries()
            .map(|(id, e, c)| (id, e.by, c.clone()))
            .collect();
        for (id, by, checkin) in entries {
            let Some(at) = last_at_or_before(&checkin, now) else {
                continue;
            };
            let at_ms = at.as_millisecond();
            let state = &mut self.checks.state;
            let seen = *state.seen.entry(id).or_insert_with(|| {
                changed = true;
                now.as_millisecond()
            });
            if at_ms <= seen {
                continue;
            }
            if state.reminded.get(&id).is_none_or(|r| *r < at_ms) {
                state.reminded.insert(id, at_ms);
                changed = true;
                if now.duration_since(at) <= REMIND_WITHIN {
                    due.push((id, by, checkin.clone(), false));
                }
            }
            if now.duration_since(at) >= JUDGED_AFTER
                && state.judged.get(&id).is_none_or(|j| *j < at_ms)
            {
                state.judged.insert(id, at_ms);
                changed = true;
                let from = (at - KEPT_FROM).as_millisecond();
                let kept = state.mine_ms >= from && state.partner_ms >= from;
                if !kept && now.duration_since(at) < JUDGED_AFTER * 2 {
                    due.push((id, by, checkin.clone(), true));
                }
            }
        }
        if changed {
            let live: Vec<OpId> = self.checks.checkins.entries().map(|(id, ..)| id).collect();
            let state = &mut self.checks.state;
            state.seen.retain(|id, _| live.contains(id));
            state.reminded.retain(|id, _| live.contains(id));
            state.judged.retain(|id, _| live.contains(id));
            self.keep_checkins();
        }
        for (id, by, checkin, missed) in due {
            let view = self.checkin_view(id, by, &checkin);
            self.emit(NodeEvent::CheckInReminder {
                checkin: view,
                missed,
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn sundays(minute: u16, zone: &str) -> CheckIn {
        CheckIn {
            weekdays: 1 << 6,
            minute,
            zone: zone.into(),
        }
    }

    /// "Sundays 20:00 Tirana" is 18:00 UTC in summer, 19:00 in winter; for a
    /// partner in Toronto it moves with both sides' changes, which fall on
    /// different Sundays.
    #[test]
    fn a_checkin_keeps_its_own_zones_clock_across_both_changes() {
        let tirana = sundays(20 * 60, "Europe/Tirane");
        // Tirana goes forward on 28 March 2027, back on 31 October 2027.
        let cases = [
            ("2027-03-21T12:00:00Z", "2027-03-21T19:00:00Z"),
            ("2027-03-21T19:00:00Z", "2027-03-28T18:00:00Z"),
            ("2027-10-24T12:00:00Z", "2027-10-24T18:00:00Z"),
            ("2027-10-24T18:00:00Z", "2027-10-31T19:00:00Z"),
        ];
        for (after, expected) in cases {
            assert_eq!(
                next_after(&tirana, at(after)),
                Some(at(expected)),
                "after {after}"
            );
        }
        // Toronto goes forward on 14 March 2027, back on 7 November 2027.
        let toronto = sundays(14 * 60, "America/Toronto");
        let cases = [
            ("2027-03-07T20:00:00Z", "2027-03-14T18:00:00Z"),
            ("2027-11-01T00:00:00Z", "2027-11-07T19:00:00Z"),
        ];
        for (after, expected) in cases {
            assert_eq!(
                next_after(&toronto, at(after)),
                Some(at(expected)),
                "after {after}"
            );
        }
        // Between the two changes in March, 20:00 in Tirana is 14:00 in Toronto
        // on one Sunday and 15:00 on the next.
        let first = next_after(&tirana, at("2027-03-13T00:00:00Z")).unwrap();
        assert_eq!(local(first, "America/Toronto").unwrap().time, "15:00");
        let second = next_after(&tirana, at("2027-03-29T00:00:00Z")).unwrap();
        assert_eq!(local(second, "America/Toronto").unwrap().time, "14:00");
        assert_eq!(
            last_at_or_before(&tirana, at("2027-03-28T18:00:00Z")),
            Some(at("2027-03-28T18:00:00Z"))
        );
        // 02:30 does not happen in Tirana on the night clocks go forward: it is
        // the instant just after the gap.
        let gap = sundays(2 * 60 + 30, "Europe/Tirane");
        assert_eq!(
            next_after(&gap, at("2027-03-27T12:00:00Z")),
            Some(at("2027-03-28T01:30:00Z"))
        );
    }
}
