//! The headless protocol's answers to ids it cannot use, and the couple's rhythm
//! (moods, days) over it.

use serde_json::json;

use crate::proc::{Proc, init, pair_by_invite};

/// Alice and Bob, headless on loopback, set up and paired by invite.
fn paired_on_loopback(root: &std::path::Path) -> (Proc, Proc) {
    let args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ];
    let mut alice = Proc::start("alice", &root.join("alice"), &args, &[]);
    let mut bob = Proc::start("bob", &root.join("bob"), &args, &[]);
    init(&mut alice, "Alice");
    init(&mut bob, "Bob");
    pair_by_invite(&mut alice, &mut bob);
    (alice, bob)
}

/// A message id that is not one is refused as a bad request, naming the id; one that
/// is well formed but names no message is `no_such_message`. Neither stops the node.
#[test]
fn headless_says_which_message_ids_it_cannot_use() {
    let root = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_on_loopback(root.path());
    let bad = alice.ask(json!({"cmd": "delete", "id": "not-an-id"}));
    assert_eq!(bad["event"], "error", "{bad}");
    assert_eq!(bad["code"], "bad_request", "{bad}");
    assert!(
        bad["message"].as_str().unwrap_or("").contains("not-an-id"),
        "{bad}"
    );
    let unknown = format!("{}:7", "ab".repeat(32));
    let missing = alice.ask(json!({"cmd": "react", "id": unknown, "emoji": "❤️"}));
    assert_eq!(missing["code"], "no_such_message", "{missing}");
    let empty = alice.ask(json!({"cmd": "send", "text": "   "}));
    assert_eq!(empty["code"], "invalid", "{empty}");
    assert_eq!(empty["reason"], "empty_text", "{empty}");
    let sent = alice.ask(json!({"cmd": "send", "text": "ende këtu"}));
    assert_eq!(sent["event"], "message", "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    let edited = alice.ask(json!({"cmd": "edit", "id": id, "text": "ende këtu, zemër"}));
    assert_eq!(edited["event"], "ok", "{edited}");
    bob.wait("the edit", |e| {
        e["event"] == "message_changed" && e["id"] == id.as_str() && e["text"] == "ende këtu, zemër"
    });
    // A mood is a message with a mood, and arrives on the partner's strip.
    let mood = alice.ask(json!({"cmd": "mood", "mood": "missing", "note": "më mungon"}));
    assert_eq!(mood["event"], "message", "{mood}");
    assert_eq!(mood["mood"]["mood"], "missing", "{mood}");
    bob.wait("the mood", |e| {
        e["event"] == "moods"
            && e["partner"][0]["mood"] == "missing"
            && e["partner"][0]["note"] == "më mungon"
    });
    let strip = bob.ask(json!({"cmd": "moods", "limit": 7}));
    assert_eq!(strip["partner"][0]["id"], mood["id"], "{strip}");
    let unknown_mood = alice.ask(json!({"cmd": "mood", "mood": "ecstatic"}));
    assert_eq!(unknown_mood["reason"], "unknown_mood", "{unknown_mood}");
    // A day set on one is on both.
    let day = alice
        .ask(json!({"cmd": "set_day", "kind": "meeting", "date": "2030-01-02", "title": "Tirana"}));
    assert_eq!(day["meeting"]["title"], "Tirana", "{day}");
    bob.wait("the meeting", |e| {
        e["event"] == "days" && e["meeting"]["date"] == "2030-01-02"
    });
    let not_a_date = alice.ask(json!({"cmd": "set_day", "kind": "meeting", "date": "2030-02-30"}));
    assert_eq!(not_a_date["reason"], "bad_date", "{not_a_date}");
    // Boundaries: proposed on one, accepted on the other, agreed on both.
    let proposed = alice.ask(json!({"cmd": "propose_boundaries", "quiet_start": "22:00", "quiet_end": "07:00", "care": "puna"}));
    assert_eq!(proposed["event"], "boundaries", "{proposed}");
    let pending = bob.wait("her proposal", |e| {
        e["event"] == "boundaries" && e["pending"][0]["by"] == "partner"
    });
    let bad_hours = alice.ask(json!({"cmd": "propose_boundaries", "quiet_start": "22:00"}));
    assert_eq!(bad_hours["reason"], "bad_quiet_hours", "{bad_hours}");
    let accepted = bob.ask(json!({"cmd": "accept_boundaries", "id": pending["pending"][0]["id"]}));
    assert_eq!(
        accepted["agreement"]["partner"]["quiet"]["start"], "22:00",
        "{accepted}"
    );
    alice.wait("agreed", |e| {
        e["event"] == "boundaries" && e["agreement"]["mine"]["quiet"]["end"] == "07:00"
    });
    let urgent = bob.ask(json!({"cmd": "send", "text": "urgjent", "urgent": true}));
    assert_eq!(urgent["event"], "message", "{urgent}");
    alice.wait("a notification", |e| {
        e["event"] == "notification" && e["kind"] == "message" && e["title"] == "Bob"
    });
    // A check-in added on one is on the other, with its next time on both clocks.
    let added = alice.ask(json!({"cmd": "add_checkin", "weekdays": ["sun"], "time": "20:00", "time_zone": "Europe/Tirane"}));
    assert_eq!(added["checkins"][0]["time"], "20:00", "{added}");
    bob.wait("the check-in", |e| {
        e["event"] == "checkins" && e["checkins"][0]["mine"]["weekday"] == "sun"
    });
    let no_day = alice.ask(json!({"cmd": "add_checkin", "weekdays": [], "time": "20:00", "time_zone": "Europe/Tirane"}));
    assert_eq!(no_day["reason"], "bad_checkin", "{no_day}");
    // The words differ: both sides end the pairing.
    let rejected = alice.ask(json!({"cmd": "reject_pairing"}));
    assert_eq!(rejected["event"], "ok", "{rejected}");
    let unpaired = bob.wait("unpaired", |e| e["event"] == "unpaired");
    assert_eq!(unpaired["by_partner"], true, "{unpaired}");
    let status = bob.ask(json!({"cmd": "status"}));
    assert_eq!(status["paired"], false, "{status}");
    alice.quit();
    bob.quit();
}

/// A message sent for five seconds later reaches the partner's device at once,
/// and shows there (and notifies) only at its time, though its sender's process
/// was killed meanwhile.
#[test]
fn a_message_for_later_shows_at_its_time_though_its_sender_was_killed() {
    let root = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_on_loopback(root.path());
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let at = now_ms() + 5_000;
    let sent = alice.ask(json!({"cmd": "send", "text": "befasi!", "at": at}));
    assert_eq!(sent["scheduled_for"], at, "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    alice.wait("on Bob's device", |e| {
        e["event"] == "delivery" && e["id"] == id.as_str() && e["state"] == "delivered"
    });
    alice.kill9();

    // On Bob's device, but out of sight until its time.
    let early = bob.try_wait(
        std::time::Duration::from_secs(2),
        &|e: &serde_json::Value| {
            e["id"] == id.as_str() && (e["event"] == "message" || e["event"] == "notification")
        },
    );
    assert!(early.is_none(), "shown before its time: {early:?}");
    assert!(now_ms() < at, "the check above ran before its time");
    assert!(bob.history().iter().all(|(_, text)| text != "befasi!"));
    let shown = bob.wait("shown", |e| {
        e["event"] == "message" && e["id"] == id.as_str()
    });
    assert!(now_ms() >= at, "shown at {} before {at}", now_ms());
    assert_eq!(shown["text"], "befasi!", "{shown}");
    bob.wait("revealed", |e| {
        e["event"] == "revealed" && e["id"] == id.as_str()
    });
    bob.wait("notified", |e| {
        e["event"] == "notification" && e["id"] == id.as_str() && e["body"] == "befasi!"
    });
    bob.quit();
}
