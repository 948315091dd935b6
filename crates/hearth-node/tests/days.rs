//! The couple's days between two engines over loopback: set on one device, on both;
//! set on both while apart, the same on both once they meet; reminders on the day;
//! kept across a restart; bad dates refused.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use hearth_node::{Author, DayKindView, DaysView, NodeError, NodeEvent, Refusal};

/// Today in the tests' time zone (both devices use Europe/Tirane).
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tirane").unwrap())
        .date()
}

fn days_between(from: jiff::civil::Date, to: jiff::civil::Date) -> i64 {
    i64::from(from.until((jiff::Unit::Day, to)).unwrap().get_days())
}

async fn wait_days(device: &Device, what: &str, done: impl Fn(&DaysView) -> bool) -> DaysView {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let days = device.handle.days().await.unwrap();
        if done(&days) {
            return days;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: days never {what}: {days:?}",
            device.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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
