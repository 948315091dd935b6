//! The headless protocol's answers to ids it cannot use.

use serde_json::json;

use crate::proc::{Proc, init, pair_by_invite};

/// A message id that is not one is refused as a bad request, naming the id; one that
/// is well formed but names no message is `no_such_message`. Neither stops the node.
#[test]
fn headless_says_which_message_ids_it_cannot_use() {
    let root = tempfile::tempdir().unwrap();
    let args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ];
    let mut alice = Proc::start("alice", &root.path().join("alice"), &args, &[]);
    let mut bob = Proc::start("bob", &root.path().join("bob"), &args, &[]);
    init(&mut alice, "Alice");
    init(&mut bob, "Bob");
    pair_by_invite(&mut alice, &mut bob);
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
