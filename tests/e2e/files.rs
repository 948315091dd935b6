//! A 50 MiB file between two processes: the receiver is killed with SIGKILL half-way,
//! restarted, and the download resumes from its last recorded chunk; the file that
//! arrives is bit-exact.

use rand::RngCore;
use serde_json::json;

use crate::proc::{Proc, free_port, init, pair_by_invite};

const SIZE: usize = 50 * 1024 * 1024;

#[test]
fn a_download_killed_half_way_resumes_and_arrives_exact() {
    let root = tempfile::tempdir().unwrap();
    let mut bytes = vec![0u8; SIZE];
    rand::thread_rng().fill_bytes(&mut bytes);
    let source = root.path().join("our-trip.mp4");
    std::fs::write(&source, &bytes).unwrap();
    let hash = blake3::hash(&bytes).to_hex().to_string();

    let (alice_port, bob_port) = (free_port(), free_port());
    let listen = |port: u16| format!("/ip4/127.0.0.1/tcp/{port}");
    let (alice_listen, bob_listen) = (listen(alice_port), listen(bob_port));
    // A slow uplink (20 ms a chunk: at least a second for the file), so the kill
    // lands while the file is moving.
    let mut alice = Proc::start_with_env(
        "alice",
        &root.path().join("alice"),
        &["--no-mdns", "--listen", &alice_listen],
        &[],
        &[("HEARTH_FAULT_SERVE_DELAY_MS", "20")],
    );
    let bob_args = ["--no-mdns", "--listen", bob_listen.as_str()];
    let mut bob = Proc::start("bob", &root.path().join("bob"), &bob_args, &[]);
    init(&mut alice, "Alice");
    init(&mut bob, "Bob");
    pair_by_invite(&mut alice, &mut bob);

    let t0 = std::time::Instant::now();
    let sent = alice.ask(json!({"cmd": "send_file", "path": source}));
    assert_eq!(sent["event"], "message", "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(sent["attachment"]["size"], SIZE as u64);

    eprintln!("T sent {:?}", t0.elapsed());
    let announced = bob.wait("attachment", |e| {
        e["event"] == "attachment" && e["id"] == id
    });
    assert_eq!(announced["name"], "our-trip.mp4");
    assert_eq!(announced["mime"], "video/mp4");
    assert_eq!(announced["view_once"], false);
    let progress = bob.wait("more than half", |e| {
        e["event"] == "transfer"
            && e["id"] == id
            && e["done"].as_u64().unwrap() * 100 > SIZE as u64 * 55
    });
    let done_before = progress["done"].as_u64().unwrap();
    assert!(
        done_before < SIZE as u64,
        "the file must still be moving at the kill"
    );
    eprintln!("T kill {:?}", t0.elapsed());
    bob.kill9();

    let mut bob = Proc::start("bob", &root.path().join("bob"), &bob_args, &[]);
    let done = bob.wait("transfer_done", |e| {
        e["event"] == "transfer_done" && e["id"] == id
    });
    eprintln!("T done {:?}", t0.elapsed());
    assert_eq!(done["blake3"], hash.as_str(), "bit-exact");
    let received = done["received"].as_u64().unwrap();
    assert!(
        received < SIZE as u64 / 2,
        "resumed rather than started over: {received} bytes fetched again after {done_before} were done"
    );

    let saved = root.path().join("saved.mp4");
    let answer = bob.ask(json!({"cmd": "save_file", "id": id, "path": saved}));
    assert_eq!(answer["event"], "ok", "{answer}");
    assert!(
        std::fs::read(&saved).unwrap() == bytes,
        "the saved file differs"
    );
    alice.quit();
    bob.quit();
}
