//! Nearby pairing with real mDNS: two `hearth headless` processes in two network
//! namespaces joined by a veth pair find each other, pair with a six-digit code, and
//! exchange a message, with no `dial`.
//!
//! Needs root and `ip` (iproute2), as CI has. The namespaces use TEST-NET-1 addresses
//! (192.0.2.0/24) that exist only inside them, so mDNS never reaches the machine's
//! own network. Without root it says it was skipped, unless `HEARTH_REQUIRE_NETNS=1`
//! (see `netns.rs`).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::proc::{Proc, init};

fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("run ip (iproute2)");
    assert!(status.success(), "ip {args:?} failed");
}

/// Two namespaces joined by a veth pair, removed on drop.
struct Lan {
    a: String,
    b: String,
}

impl Lan {
    fn new() -> Lan {
        let id = std::process::id();
        let lan = Lan {
            a: format!("hearth-a-{id}"),
            b: format!("hearth-b-{id}"),
        };
        let (va, vb) = (format!("hva{id}"), format!("hvb{id}"));
        ip(&["netns", "add", &lan.a]);
        ip(&["netns", "add", &lan.b]);
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &lan.a]);
        ip(&["link", "set", &vb, "netns", &lan.b]);
        for (ns, dev, addr) in [(&lan.a, &va, "192.0.2.1/24"), (&lan.b, &vb, "192.0.2.2/24")] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        lan
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn nearby_pairing_over_real_mdns_between_two_namespaces() {
    if !crate::netns::available("nearby_pairing_over_real_mdns", &[]) {
        return;
    }
    let lan = Lan::new();
    let root = tempfile::tempdir().unwrap();
    let listen = ["--listen", "/ip4/0.0.0.0/tcp/4001"];
    let mut alice = Proc::start(
        "alice",
        &root.path().join("alice"),
        &listen,
        &["ip", "netns", "exec", &lan.a],
    );
    let mut bob = Proc::start(
        "bob",
        &root.path().join("bob"),
        &listen,
        &["ip", "netns", "exec", &lan.b],
    );
    init(&mut alice, "Alice");
    init(&mut bob, "Bob");

    let code = alice.ask(json!({"cmd": "nearby_code"}))["code"]
        .as_str()
        .expect("a code")
        .to_string();
    // Bob's device needs a moment to hear Alice's on mDNS.
    let started = Instant::now();
    let paired = loop {
        let answer = bob.ask(json!({"cmd": "pair", "code": code}));
        if answer["event"] == "paired" || started.elapsed() > Duration::from_secs(30) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(paired["event"], "paired", "{paired}");
    eprintln!("paired over mDNS after {:?}", started.elapsed());
    let alice_paired = alice.wait("paired", |e| e["event"] == "paired");
    assert_eq!(alice_paired["safety_words"], paired["safety_words"]);

    let sent = bob.ask(json!({"cmd": "send", "text": "Tungjatjeta nga rrjeti lokal 👋"}));
    assert_eq!(sent["event"], "message", "{sent}");
    let got = alice.wait("bob's message", |e| e["event"] == "message");
    assert_eq!(got["text"], "Tungjatjeta nga rrjeti lokal 👋");
    assert_eq!(got["author"], "partner");
    alice.quit();
    bob.quit();
}
