//! The couple's rhythm between two engines over loopback.
//!
//! Days: set on one device, on both; set on both while apart, the same on both
//! once they meet; reminders on the day; kept across a restart; bad dates refused.
//! Moods: a row of the timeline on both devices; shared while apart, the same
//! strip on both once they meet; deleted by its author, gone from both.
//! Boundaries: proposed and accepted, changed on both sides while apart and the
//! same agreement on both after; quiet hours hold notifications (a summary when
//! they end, urgent rings through) and tell the sender, on a clock the test moves.
//! Check-ins: reminded on both devices at the same instant across both partners'
//! daylight-saving changes; a missed one noted, a kept one not.
//! Send later: on the partner's device at once, out of sight there until its
//! time (across a restart), edited or cancelled until then.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::sync::Arc;

use hearth_node::{
    Author, BoundariesView, BoundaryChange, CheckInsView, DayKindView, DaysView, MoodsView,
    NodeError, NodeEvent, Notice, Profile, Refusal, SendAt, TestClock,
};

/// Today in the tests' time zone (both devices use Europe/Tirane).
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tirane").unwrap())
        .date()
}

fn days_between(from: jiff::civil::Date, to: jiff::civil::Date) -> i64 {
    i64::from(from.until((jiff::Unit::Day, to)).unwrap().get_days())
}

/// Asks `device` with `ask` until its answer satisfies `done`; fails saying `what`
/// did not happen, with the last answer.
async fn poll<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    device: &Device,
    what: &str,
    ask: impl Fn() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = ask().await;
        if done(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: {what}: {answer:?}",
            device.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn wait_days(device: &Device, what: &str, done: impl Fn(&DaysView) -> bool) -> DaysView {
    poll(
        device,
        &format!("days never {what}"),
        || async { device.handle.days().await.unwrap() },
        done,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_days_are_the_same_on_both_devices() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let today = today();

    // Together since: set by Alice, counted on Bob's device.
    alice
        .handle
        .set_day(DayKindView::TogetherSince, None, "2021-06-12", "")
        .await
        .unwrap();
    let seen = wait_days(&bob, "has together since", |d| d.together_since.is_some()).await;
    let together = seen.together_since.unwrap();
    assert_eq!(together.date, "2021-06-12");
    assert_eq!(together.set_by, Author::Partner);
    assert_eq!(
        together.days,
        days_between(jiff::civil::date(2021, 6, 12), today)
    );
    bob.wait_event(
        "told of the days",
        |e| matches!(e, NodeEvent::Days(d) if d.together_since.is_some()),
    )
    .await;

    // Apart: each sets the next meeting without the other.
    let in_12 = today.checked_add(jiff::Span::new().days(12)).unwrap();
    let in_40 = today.checked_add(jiff::Span::new().days(40)).unwrap();
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice
        .wait_event("bob offline", |e| {
            matches!(e, NodeEvent::Presence { online: false })
        })
        .await;
    alice
        .handle
        .set_day(DayKindView::Meeting, None, in_12.to_string(), "Tirana")
        .await
        .unwrap();
    let (alice_dir, alice_port) = (alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.handle
        .set_day(DayKindView::Meeting, None, in_40.to_string(), "Toronto")
        .await
        .unwrap();
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    alice.handle.dial(bob.addr()).await.unwrap();

    // Once they meet, both hold both changes and agree on the one that won.
    let settled = |d: &DaysView| {
        d.meeting.is_some()
            && d.together_since.is_some()
            && !d.meeting.as_ref().unwrap().title.is_empty()
    };
    let on_alice = wait_days(&alice, "has a meeting", settled).await;
    let on_bob = wait_days(&bob, "has a meeting", settled).await;
    // Give each a moment to fold whatever of the other's was still on its way.
    let agree = |a: &DaysView, b: &DaysView| {
        let (a, b) = (a.meeting.as_ref().unwrap(), b.meeting.as_ref().unwrap());
        a.date == b.date && a.title == b.title
    };
    let mut on_alice = on_alice;
    let mut on_bob = on_bob;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !agree(&on_alice, &on_bob) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the two never agree: {on_alice:?} / {on_bob:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        on_alice = alice.handle.days().await.unwrap();
        on_bob = bob.handle.days().await.unwrap();
    }
    let meeting = on_alice.meeting.unwrap();
    assert!(
        [("Tirana", 12), ("Toronto", 40)].contains(&(meeting.title.as_str(), meeting.days)),
        "{meeting:?}"
    );

    // An anniversary that is today: both are reminded, each once.
    // 2020 was a leap year: any day of the year was a day of it.
    let first = jiff::civil::date(2020, today.month(), today.day());
    let added = alice
        .handle
        .set_day(
            DayKindView::Anniversary,
            None,
            first.to_string(),
            "Dita kur u njohëm",
        )
        .await
        .unwrap();
    let anniversary = added.anniversaries[0].clone();
    assert_eq!(anniversary.days, 0, "it is today");
    assert_eq!(anniversary.years, Some(i64::from(today.year() - 2020)));
    for device in [&alice, &bob] {
        device
            .wait_event(
                "a reminder",
                |e| matches!(e, NodeEvent::Reminder(d) if d.title == "Dita kur u njohëm"),
            )
            .await;
    }
    // The counts of the next day come with the next day; a second look today
    // reminds of nothing again.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for device in [&alice, &bob] {
        assert_eq!(
            device.count_events(
                |e| matches!(e, NodeEvent::Reminder(d) if d.kind == DayKindView::Anniversary)
            ),
            1,
            "{} was reminded once",
            device.name
        );
    }

    // Bob renames it, then removes it: gone on Alice's device too.
    bob.handle
        .set_day(
            DayKindView::Anniversary,
            Some(anniversary.id.clone()),
            first.to_string(),
            "The day we met",
        )
        .await
        .unwrap();
    wait_days(&alice, "renamed", |d| {
        d.anniversaries.iter().any(|a| a.title == "The day we met")
    })
    .await;
    bob.handle.remove_day(anniversary.id.clone()).await.unwrap();
    wait_days(&alice, "removed", |d| d.anniversaries.is_empty()).await;

    // Bad input is refused and changes nothing.
    for bad in ["2025-02-30", "12/06/2021", ""] {
        let refused = alice
            .handle
            .set_day(DayKindView::TogetherSince, None, bad, "")
            .await;
        assert!(
            matches!(refused, Err(NodeError::Refused(Refusal::BadDate(_)))),
            "{bad}: {refused:?}"
        );
    }
    assert!(matches!(
        alice.handle.remove_day("not a day").await,
        Err(NodeError::Refused(Refusal::NoSuchDay))
    ));
    assert!(matches!(
        alice.handle.remove_day(anniversary.id).await,
        Err(NodeError::Refused(Refusal::NoSuchDay))
    ));

    // Kept across a restart, without the partner.
    bob.handle.shutdown().await;
    let before = alice.handle.days().await.unwrap();
    alice.handle.shutdown().await;
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    let after = alice.handle.days().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.together_since.unwrap().date, "2021-06-12");
}

async fn wait_moods(device: &Device, what: &str, done: impl Fn(&MoodsView) -> bool) -> MoodsView {
    poll(
        device,
        &format!("moods never {what}"),
        || async { device.handle.moods(28).await.unwrap() },
        done,
    )
    .await
}

/// Each one's strip as (day, mood) pairs.
fn strip(days: &[hearth_node::MoodDayView]) -> Vec<(String, String)> {
    days.iter()
        .map(|d| (d.mood.day.clone(), d.mood.mood.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mood_shows_in_both_timelines_and_strips() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let today = today().to_string();

    // Shared by Alice: a row in Bob's timeline, and today on his strip of her.
    let shared = alice
        .handle
        .share_mood("missing", "  më mungon  ")
        .await
        .unwrap();
    let mood = shared.mood.clone().unwrap();
    assert_eq!(
        (mood.mood.as_str(), mood.note.as_str()),
        ("missing", "më mungon")
    );
    assert_eq!(mood.day, today);
    let row = bob
        .wait_event(
            "a mood",
            |e| matches!(e, NodeEvent::Message(m) if m.mood.is_some()),
        )
        .await;
    let NodeEvent::Message(row) = row else {
        unreachable!()
    };
    assert_eq!(row.id, shared.id);
    assert_eq!(row.author, Author::Partner);
    assert_eq!(row.text, None);
    let on_bob = wait_moods(&bob, "has Alice's", |m| !m.partner.is_empty()).await;
    assert_eq!(strip(&on_bob.partner), [(today.clone(), "missing".into())]);
    assert!(on_bob.mine.is_empty());

    // Apart: each shares without the other.
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice
        .wait_event("bob offline", |e| {
            matches!(e, NodeEvent::Presence { online: false })
        })
        .await;
    let calm = alice.handle.share_mood("calm", "").await.unwrap();
    let (alice_dir, alice_port) = (alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.handle.share_mood("joy", "").await.unwrap();
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    alice.handle.dial(bob.addr()).await.unwrap();

    // Once they meet: the same strip on both, the day's last mood colouring it.
    let on_alice = wait_moods(&alice, "has Bob's", |m| !m.partner.is_empty()).await;
    let on_bob = wait_moods(&bob, "has Alice's calm", |m| {
        m.partner.iter().any(|d| d.mood.mood == "calm")
    })
    .await;
    assert_eq!(strip(&on_alice.mine), [(today.clone(), "calm".into())]);
    assert_eq!(strip(&on_alice.mine), strip(&on_bob.partner));
    assert_eq!(strip(&on_alice.partner), strip(&on_bob.mine));
    assert_eq!(strip(&on_bob.mine), [(today.clone(), "joy".into())]);

    // Alice deletes her calm: the day goes back to her earlier mood, on both.
    alice.handle.delete(calm.id).await.unwrap();
    wait_moods(&bob, "lost the calm", |m| {
        strip(&m.partner) == [(today.clone(), "missing".to_string())]
    })
    .await;
    // Bob cannot delete Alice's mood.
    assert!(bob.handle.delete(shared.id).await.is_err());

    // Bad input is refused and shares nothing.
    assert!(matches!(
        alice.handle.share_mood("ecstatic", "").await,
        Err(NodeError::Refused(Refusal::UnknownMood(_)))
    ));
    let long = "a".repeat(hearth_core::limits::MAX_MOOD_NOTE_BYTES + 1);
    assert!(matches!(
        alice.handle.share_mood("joy", long).await,
        Err(NodeError::Refused(Refusal::MoodNoteTooLong))
    ));

    // Kept across a restart, without the partner.
    bob.handle.shutdown().await;
    let before = alice.handle.moods(28).await.unwrap();
    alice.handle.shutdown().await;
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    assert_eq!(alice.handle.moods(28).await.unwrap(), before);
    assert_eq!(before.mine.len(), 1);

    // As if a crash came between storing the ops and keeping the strip: the
    // strip is folded again from the log at the next start.
    alice.handle.shutdown().await;
    {
        let store = hearth_store::Store::open(&alice_dir, None).unwrap();
        store
            .set_setting("moods", &hearth_core::Moods::default())
            .unwrap();
        let nothing_folded: std::collections::BTreeMap<hearth_core::DeviceId, u64> =
            std::collections::BTreeMap::new();
        store.set_setting("rhythm-folded", &nothing_folded).unwrap();
        store.flush().unwrap();
    }
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    assert_eq!(alice.handle.moods(28).await.unwrap(), before);
}

async fn wait_boundaries(
    device: &Device,
    what: &str,
    done: impl Fn(&BoundariesView) -> bool,
) -> BoundariesView {
    poll(
        device,
        &format!("boundaries never {what}"),
        || async { device.handle.boundaries().await.unwrap() },
        done,
    )
    .await
}

/// Waits for `device` to hold back, for its quiet hours, the message saying `text`.
async fn held_notice(device: &Device, what: &str, text: &str) -> NodeEvent {
    device
        .wait_event(what, |e| {
            matches!(e, NodeEvent::Notification(Notice::Message { held: true, message, .. })
                if message.text.as_deref() == Some(text))
        })
        .await
}

/// Alice and Bob paired, both reading one clock the test moves, set to `at`.
async fn paired_on_one_clock(
    root: &std::path::Path,
    at: jiff::Timestamp,
) -> (Device, Device, Arc<TestClock>) {
    let clock = Arc::new(TestClock::default());
    clock.set(at);
    let (alice_clock, bob_clock) = (clock.clone(), clock.clone());
    let (alice, bob) = paired_pair_with_both(
        root,
        move |c| c.faults.clock = Some(alice_clock),
        move |c| c.faults.clock = Some(bob_clock),
    )
    .await;
    (alice, bob, clock)
}

/// Starts a device again on the test's clock.
async fn start_on(
    clock: &Arc<TestClock>,
    name: &'static str,
    dir: &std::path::Path,
    port: u16,
) -> Device {
    let clock = clock.clone();
    Device::start_with(name, dir, port, move |c| c.faults.clock = Some(clock)).await
}

/// `HH:MM` today in Tirana, as an instant.
fn tirana_at(hour: i8, minute: i8) -> jiff::Timestamp {
    tirana_on(today(), hour, minute)
}

/// `HH:MM` tomorrow in Tirana, as an instant (a day is not always 24 hours).
fn tirana_tomorrow_at(hour: i8, minute: i8) -> jiff::Timestamp {
    tirana_on(today().tomorrow().unwrap(), hour, minute)
}

fn tirana_on(day: jiff::civil::Date, hour: i8, minute: i8) -> jiff::Timestamp {
    day.at(hour, minute, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tirane").unwrap())
        .unwrap()
        .timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boundaries_both_agree_on_are_kept_by_quiet_hours() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    // One clock for both devices: both in Tirana, at the hour the test says.
    let (alice, bob, clock) = paired_on_one_clock(root.path(), tirana_at(12, 0)).await;

    // Alice proposes her quiet hours: nothing holds until Bob accepts.
    alice
        .handle
        .propose_boundaries(BoundaryChange {
            my_quiet: Some(Some(("22:00".into(), "07:00".into()))),
            care: Some("work, family".into()),
            ..BoundaryChange::default()
        })
        .await
        .unwrap();
    let on_bob = wait_boundaries(&bob, "has her proposal", |b| !b.pending.is_empty()).await;
    let proposal = &on_bob.pending[0];
    assert_eq!(proposal.by, Author::Partner);
    assert!(on_bob.agreement.partner.quiet.is_none());
    // Her own proposal is not hers to accept.
    assert!(matches!(
        alice.handle.accept_boundaries(proposal.id).await,
        Err(NodeError::Refused(Refusal::NoSuchProposal))
    ));
    bob.handle.accept_boundaries(proposal.id).await.unwrap();
    let on_alice = wait_boundaries(&alice, "agreed", |b| b.agreement.mine.quiet.is_some()).await;
    let quiet = on_alice.agreement.mine.quiet.clone().unwrap();
    assert_eq!(
        (quiet.start.as_str(), quiet.end.as_str()),
        ("22:00", "07:00")
    );
    assert_eq!(on_alice.agreement.care, "work, family");
    assert_eq!(on_alice.history.len(), 1);

    // Apart, each proposes a change; together again, each accepts the other's.
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice
        .handle
        .propose_boundaries(BoundaryChange {
            media: Some("ask before intimate pictures".into()),
            view_once: Some(true),
            ..BoundaryChange::default()
        })
        .await
        .unwrap();
    let (alice_dir, alice_port) = (alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    let bob = start_on(&clock, "bob", &bob_dir, bob_port).await;
    bob.handle
        .propose_boundaries(BoundaryChange {
            my_quiet: Some(Some(("23:30".into(), "06:30".into()))),
            my_reach: Some("messages; call only if urgent".into()),
            ..BoundaryChange::default()
        })
        .await
        .unwrap();
    let alice = start_on(&clock, "alice", &alice_dir, alice_port).await;
    alice.handle.dial(bob.addr()).await.unwrap();
    for device in [&alice, &bob] {
        let theirs = wait_boundaries(device, "has the other's proposal", |b| {
            b.pending.iter().any(|p| p.by == Author::Partner)
        })
        .await;
        let id = theirs
            .pending
            .iter()
            .find(|p| p.by == Author::Partner)
            .unwrap()
            .id;
        device.handle.accept_boundaries(id).await.unwrap();
    }
    let settled = |b: &BoundariesView| b.history.len() == 3 && b.pending.is_empty();
    let on_alice = wait_boundaries(&alice, "settled", settled).await;
    let on_bob = wait_boundaries(&bob, "settled", settled).await;
    assert_eq!(on_alice.agreement.mine, on_bob.agreement.partner);
    assert_eq!(on_alice.agreement.partner, on_bob.agreement.mine);
    assert_eq!(on_alice.agreement.media, on_bob.agreement.media);
    assert!(on_alice.agreement.view_once && on_bob.agreement.view_once);
    assert_eq!(
        on_alice.agreement.care, "work, family",
        "an older agreed field stays"
    );
    assert_eq!(on_bob.agreement.mine.reach, "messages; call only if urgent");

    // 23:45 in Tirana: Alice is in her quiet hours. Bob is told before his words
    // wait; Alice's device holds them; urgent rings through.
    clock.set(tirana_at(23, 45));
    wait_boundaries(&bob, "sees her quiet hours", |b| {
        b.partner_quiet_until.as_deref() == Some("07:00")
    })
    .await;
    bob.handle.send("natën e mirë", None).await.unwrap();
    bob.wait_event(
        "told she is quiet",
        |e| matches!(e, NodeEvent::PartnerQuiet { until } if until == "07:00"),
    )
    .await;
    let held = alice
        .wait_event("a held notification", |e| {
            matches!(
                e,
                NodeEvent::Notification(Notice::Message { held: true, .. })
            )
        })
        .await;
    let NodeEvent::Notification(Notice::Message {
        message,
        urgent,
        from,
        ..
    }) = held
    else {
        unreachable!()
    };
    assert_eq!(from, "Bob");
    assert_eq!(message.text.as_deref(), Some("natën e mirë"));
    assert!(!urgent);
    bob.handle
        .send_urgent("më thirr, të lutem", None)
        .await
        .unwrap();
    alice
        .wait_event("urgent rings through", |e| {
            matches!(e, NodeEvent::Notification(Notice::Message { held: false, urgent: true, message, .. })
                if message.text.as_deref() == Some("më thirr, të lutem"))
        })
        .await;
    assert_eq!(
        alice.count_events(|e| matches!(
            e,
            NodeEvent::Notification(Notice::Message { held: false, .. })
        )),
        1,
        "only the urgent one rang"
    );
    // Said once a quiet period: a second message tells Bob nothing new.
    bob.handle.send("gjumë të ëmbël", None).await.unwrap();
    let third = held_notice(&alice, "the second held", "gjumë të ëmbël").await;
    // Three unread in a row: one notification would say so.
    assert!(
        matches!(
            third,
            NodeEvent::Notification(Notice::Message { unread: 3, .. })
        ),
        "{third:?}"
    );
    // Don't bombard: five of his waiting while she rests, he hears a gentle word.
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::ManyWaiting { .. })),
        0
    );
    bob.handle.send("të dua", None).await.unwrap();
    bob.handle.send("shihemi nesër", None).await.unwrap();
    bob.wait_event("many waiting", |e| {
        matches!(e, NodeEvent::ManyWaiting { count: 5 })
    })
    .await;
    held_notice(&alice, "the last held", "shihemi nesër").await;

    // 07:01: her quiet hours are over; one summary of the four held.
    clock.set(tirana_tomorrow_at(7, 1));
    let summary = alice
        .wait_event("the summary", |e| {
            matches!(e, NodeEvent::Notification(Notice::Summary { .. }))
        })
        .await;
    assert!(
        matches!(
            summary,
            NodeEvent::Notification(Notice::Summary { count: 4, .. })
        ),
        "{summary:?}"
    );
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::PartnerQuiet { .. })),
        1
    );
    assert_eq!(
        alice.handle.boundaries().await.unwrap().my_quiet_until,
        None
    );

    // Bad input is refused and proposes nothing.
    assert!(matches!(
        alice
            .handle
            .propose_boundaries(BoundaryChange {
                my_quiet: Some(Some(("25:00".into(), "07:00".into()))),
                ..BoundaryChange::default()
            })
            .await,
        Err(NodeError::Refused(Refusal::BadQuietHours))
    ));
    assert!(matches!(
        alice
            .handle
            .propose_boundaries(BoundaryChange {
                care: Some("work, family".into()),
                ..BoundaryChange::default()
            })
            .await,
        Err(NodeError::Refused(Refusal::NothingToPropose))
    ));
}

async fn wait_checkins(
    device: &Device,
    what: &str,
    done: impl Fn(&CheckInsView) -> bool,
) -> CheckInsView {
    poll(
        device,
        &format!("check-ins never {what}"),
        || async { device.handle.checkins().await.unwrap() },
        done,
    )
    .await
}

fn utc(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn reminders(device: &Device, missed: bool) -> usize {
    device
        .count_events(|e| matches!(e, NodeEvent::CheckInReminder { missed: m, .. } if *m == missed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkin_reminds_both_at_its_time_across_clock_changes() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob, clock) = paired_on_one_clock(root.path(), utc("2027-03-27T12:00:00Z")).await;
    bob.handle
        .init(Profile {
            name: "Bob".into(),
            language: "sq".into(),
            time_zone: "America/Toronto".into(),
        })
        .await
        .unwrap();
    alice
        .wait_event(
            "Bob in Toronto",
            |e| matches!(e, NodeEvent::PartnerProfile(p) if p.time_zone == "America/Toronto"),
        )
        .await;

    // Sundays 20:00 in Tirana: 14:00 in Toronto that Sunday, on both devices.
    alice
        .handle
        .add_checkin(vec!["sun".into()], "20:00", "Europe/Tirane")
        .await
        .unwrap();
    let on_bob = wait_checkins(&bob, "has hers", |c| !c.checkins.is_empty()).await;
    let checkin = &on_bob.checkins[0];
    assert_eq!(
        checkin.next_at,
        Some(utc("2027-03-28T18:00:00Z").as_millisecond())
    );
    assert_eq!(checkin.set_by, Author::Partner);
    let (mine, hers) = (
        checkin.mine.clone().unwrap(),
        checkin.partner.clone().unwrap(),
    );
    assert_eq!(
        (mine.weekday.as_str(), mine.time.as_str()),
        ("sun", "14:00")
    );
    assert_eq!(
        (hers.weekday.as_str(), hers.time.as_str()),
        ("sun", "20:00")
    );
    let on_alice = wait_checkins(&alice, "has it", |c| !c.checkins.is_empty()).await;
    assert_eq!(on_alice.checkins[0].mine.as_ref().unwrap().time, "20:00");
    assert_eq!(on_alice.checkins[0].partner.as_ref().unwrap().time, "14:00");

    // Two seconds before: nothing yet. Just after: both are reminded, once.
    clock.set(utc("2027-03-28T17:59:58Z"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        reminders(&alice, false) + reminders(&bob, false),
        0,
        "not before its time"
    );
    clock.set(utc("2027-03-28T18:00:01Z"));
    for device in [&alice, &bob] {
        let reminder = device
            .wait_event("the reminder", |e| {
                matches!(e, NodeEvent::CheckInReminder { missed: false, .. })
            })
            .await;
        let NodeEvent::CheckInReminder { checkin, .. } = reminder else {
            unreachable!()
        };
        // It already names the next one, a week on.
        assert_eq!(
            checkin.next_at,
            Some(utc("2027-04-04T18:00:00Z").as_millisecond())
        );
    }
    // Nobody wrote: two hours on, a gentle note on both.
    clock.set(utc("2027-03-28T20:00:05Z"));
    for device in [&alice, &bob] {
        device
            .wait_event("missed", |e| {
                matches!(e, NodeEvent::CheckInReminder { missed: true, .. })
            })
            .await;
    }

    // October: Tirana goes back on the 31st, Toronto a week later. Sunday 20:00
    // in Tirana is now 19:00 UTC, and 15:00 in Toronto.
    clock.set(utc("2027-10-31T18:59:58Z"));
    let on_bob = wait_checkins(&bob, "the autumn time", |c| {
        c.checkins[0].next_at == Some(utc("2027-10-31T19:00:00Z").as_millisecond())
    })
    .await;
    assert_eq!(on_bob.checkins[0].mine.as_ref().unwrap().time, "15:00");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        reminders(&alice, false),
        1,
        "a week's reminder was not given late"
    );
    clock.set(utc("2027-10-31T19:00:01Z"));
    for device in [&alice, &bob] {
        let deadline = tokio::time::Instant::now() + WAIT;
        while reminders(device, false) < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: no autumn reminder",
                device.name
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    // Both write: the check-in was kept, and no note comes.
    alice.handle.send("mirëmbrëma", None).await.unwrap();
    bob.handle.send("hi love", None).await.unwrap();
    bob.wait_history("her message", |h| {
        h.iter().any(|m| m.text.as_deref() == Some("mirëmbrëma"))
    })
    .await;
    alice
        .wait_history("his message", |h| {
            h.iter().any(|m| m.text.as_deref() == Some("hi love"))
        })
        .await;
    clock.set(utc("2027-10-31T21:00:05Z"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for device in [&alice, &bob] {
        assert_eq!(
            reminders(device, true),
            1,
            "{}: only March was missed",
            device.name
        );
        assert_eq!(
            reminders(device, false),
            2,
            "{}: reminded once each",
            device.name
        );
    }

    // Bad input is refused; removed on one, gone on both.
    for (days, time, zone) in [
        (vec!["sunday"], "20:00", "Europe/Tirane"),
        (vec![], "20:00", "Europe/Tirane"),
        (vec!["sun"], "8pm", "Europe/Tirane"),
    ] {
        let refused = alice
            .handle
            .add_checkin(days.iter().map(|d| d.to_string()).collect(), time, zone)
            .await;
        assert!(
            matches!(refused, Err(NodeError::Refused(Refusal::BadCheckIn(_)))),
            "{refused:?}"
        );
    }
    assert!(matches!(
        alice
            .handle
            .add_checkin(vec!["sun".into()], "20:00", "Mars/Olympus")
            .await,
        Err(NodeError::Refused(Refusal::UnknownTimeZone(_)))
    ));
    let id = on_bob.checkins[0].id;
    bob.handle.remove_checkin(id).await.unwrap();
    wait_checkins(&alice, "removed", |c| c.checkins.is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_later_waits_unseen_and_shows_at_its_time() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob, clock) = paired_on_one_clock(root.path(), tirana_at(23, 0)).await;
    let morning = tirana_tomorrow_at(8, 0);

    // Bob writes at 23:00 for Alice's morning: it reaches her device now.
    let later = bob
        .handle
        .send_later("mirëmëngjes", None, SendAt::PartnerMorning)
        .await
        .unwrap();
    assert_eq!(later.scheduled_for, Some(morning.as_millisecond()));
    bob.wait_event("delivered", |e| {
        matches!(e, NodeEvent::Delivery { id, state: hearth_node::Delivery::Delivered } if *id == later.id)
    })
    .await;
    // He changes his words, and writes one he takes back.
    bob.handle
        .edit(later.id, "mirëmëngjes, zemër")
        .await
        .unwrap();
    let taken_back = bob
        .handle
        .send_later(
            "harroje",
            None,
            SendAt::At(tirana_at(23, 30).as_millisecond()),
        )
        .await
        .unwrap();
    bob.handle.cancel_scheduled(taken_back.id).await.unwrap();
    bob.handle.send("natën", None).await.unwrap();
    alice
        .wait_history("his goodnight", |h| {
            h.iter().any(|m| m.text.as_deref() == Some("natën"))
        })
        .await;

    // Alice sees none of it before its time, not even after a restart.
    let unseen = |d: &Device| {
        let shown = d.count_events(|e| match e {
            NodeEvent::Message(m) | NodeEvent::MessageChanged(m) => {
                m.id == later.id || m.id == taken_back.id
            }
            NodeEvent::Notification(Notice::Message { message, .. }) => message.id == later.id,
            _ => false,
        });
        shown == 0
    };
    assert!(unseen(&alice));
    assert_eq!(texts(&alice.history().await), ["natën"]);
    let (alice_dir, alice_port) = (alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    let alice = start_on(&clock, "alice", &alice_dir, alice_port).await;
    assert_eq!(texts(&alice.history().await), ["natën"]);
    alice.handle.dial(bob.addr()).await.unwrap();
    clock.set(tirana_at(23, 45));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(unseen(&alice), "the one taken back never shows");

    // 08:00: it shows on hers, edited, and notifies; on his it is no longer scheduled.
    clock.set(morning + jiff::SignedDuration::from_secs(1));
    let shown = alice
        .wait_event(
            "shown",
            |e| matches!(e, NodeEvent::Message(m) if m.id == later.id),
        )
        .await;
    let NodeEvent::Message(shown) = shown else {
        unreachable!()
    };
    assert_eq!(shown.text.as_deref(), Some("mirëmëngjes, zemër"));
    assert_eq!(shown.sent_at, morning.as_millisecond());
    assert_eq!(shown.scheduled_for, None);
    alice
        .wait_event(
            "revealed",
            |e| matches!(e, NodeEvent::Revealed { id } if *id == later.id),
        )
        .await;
    alice
        .wait_event("notified", |e| {
            matches!(e, NodeEvent::Notification(Notice::Message { message, held: false, .. }) if message.id == later.id)
        })
        .await;
    bob.wait_event("no longer scheduled", |e| {
        matches!(e, NodeEvent::MessageChanged(m) if m.id == later.id && m.scheduled_for.is_none())
    })
    .await;
    // In the history too, where it showed: after his goodnight, on both devices,
    // and what is written next comes after it.
    assert_eq!(
        texts(&alice.history().await),
        ["natën", "mirëmëngjes, zemër"]
    );
    let on_bob = bob
        .wait_history("moved", |h| texts(h) == ["natën", "mirëmëngjes, zemër"])
        .await;
    let moved = on_bob.iter().find(|m| m.id == later.id).unwrap();
    assert_eq!(moved.scheduled_for, None);
    alice.handle.send("mirëmëngjes!", None).await.unwrap();
    bob.wait_history("her answer after it", |h| {
        texts(h) == ["natën", "mirëmëngjes, zemër", "mirëmëngjes!"]
    })
    .await;
    // Paging from it finds what came before it.
    let before = alice.handle.history(10, Some(later.id)).await.unwrap();
    assert_eq!(texts(&before), ["natën"]);

    // Too late to cancel; a time that is past, or quiet hours there are none of,
    // is refused.
    assert!(matches!(
        bob.handle.cancel_scheduled(later.id).await,
        Err(NodeError::Refused(Refusal::NotScheduled))
    ));
    assert!(matches!(
        bob.handle
            .send_later("dje", None, SendAt::At(tirana_at(7, 0).as_millisecond()))
            .await,
        Err(NodeError::Refused(Refusal::BadScheduleTime))
    ));
    assert!(matches!(
        bob.handle
            .send_later("pas qetësisë", None, SendAt::AfterPartnerQuiet)
            .await,
        Err(NodeError::Refused(Refusal::NoQuietHours))
    ));
}
