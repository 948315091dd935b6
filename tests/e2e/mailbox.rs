//! The couple's mailbox: Arta and Ben are never online at the same time. Each
//! writes 200 messages and sends a 20 MiB file while the other is stopped; with
//! `hearth mailbox` running, everything arrives exactly once, in order, the files
//! bit-exact; the mailbox's disk never holds a word or a byte of it in the clear;
//! and once both have collected everything, the mailbox holds nothing for them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::{Value, json};

use crate::proc::{Proc, free_port, init, pair_by_invite};

const MESSAGES: usize = 200;
const FILE_BYTES: usize = 20 * 1024 * 1024;
/// In every message, to look for on the mailbox's disk.
const MARKER: &str = "PLAINTEXT-MARKER-5f1c";

/// `hearth mailbox`, and the invite it printed.
struct Mailbox {
    child: Child,
    invite: String,
}

impl Mailbox {
    fn start(profile: &Path, listen: &str) -> Mailbox {
        Mailbox::spawn(
            &["mailbox", "--listen", listen],
            profile,
            "invite hearth-mailbox:",
        )
    }

    /// `hearth relay` with a mailbox beside it, printing `mailbox invite …`.
    fn beside_a_relay(relay: &Path, mailbox: &Path, listen: &str, mailbox_listen: &str) -> Mailbox {
        let args = [
            "relay",
            "--listen",
            listen,
            "--mailbox",
            mailbox.to_str().unwrap(),
            "--mailbox-listen",
            mailbox_listen,
        ];
        Mailbox::spawn(&args, relay, "mailbox invite hearth-mailbox:")
    }

    fn spawn(args: &[&str], profile: &Path, invite_line: &'static str) -> Mailbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(args)
            .arg("--profile")
            .arg(profile)
            .env(
                "HEARTH_LOG",
                std::env::var("HEARTH_E2E_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the mailbox");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(invite_line) {
                    let code = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(format!("hearth-mailbox:{code}"));
                }
            }
        });
        let invite = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the mailbox prints its invite");
        Mailbox { child, invite }
    }

    fn stop(mut self) {
        // SIGINT, as Ctrl-C: it flushes and releases its database.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until everything this device wrote is at the mailbox (or acknowledged).
fn wait_left(proc: &mut Proc) {
    wait_until(proc, Duration::from_secs(120), |s| {
        s["to_leave"] == 0 && s["error"].is_null()
    });
}

/// Writes `MESSAGES` messages and a file, and waits until the file is sealed and
/// everything is at the mailbox. Returns the file's message id and hash.
fn write_while_alone(proc: &mut Proc, who: &str, file: &Path) -> (String, String) {
    for i in 0..MESSAGES {
        let sent = proc.ask(json!({"cmd": "send", "text": format!("{who} {i:03} {MARKER}")}));
        assert_eq!(sent["event"], "message", "{sent}");
    }
    let sent = proc.ask(json!({"cmd": "send_file", "path": file}));
    assert_eq!(sent["event"], "message", "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    // Sealed here: its message now carries the file's hash.
    let ready = proc.wait("the file sealed", |e| {
        e["event"] == "message_changed"
            && e["id"] == id.as_str()
            && e["attachment"]["blake3"]
                .as_str()
                .is_some_and(|h| h.chars().any(|c| c != '0'))
    });
    let hash = ready["attachment"]["blake3"].as_str().unwrap().to_string();
    wait_left(proc);
    (id, hash)
}

/// Collects from the mailbox what the partner left: every message once, in order,
/// and the file, bit-exact.
fn collect(proc: &mut Proc, from: &str, file: &(String, String), saved: &Path) {
    let done = proc.wait("the partner's file", |e| {
        e["event"] == "transfer_done" && e["id"] == file.0.as_str()
    });
    assert_eq!(done["blake3"], file.1.as_str(), "bit-exact");
    let answer = proc.ask(json!({"cmd": "save_file", "id": file.0, "path": saved}));
    assert_eq!(answer["event"], "ok", "{answer}");
    assert_eq!(
        blake3::hash(&std::fs::read(saved).unwrap())
            .to_hex()
            .as_str(),
        file.1
    );
    let theirs: Vec<String> = proc
        .history()
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| text.starts_with(from))
        .collect();
    let expected: Vec<String> = (0..MESSAGES)
        .map(|i| format!("{from} {i:03} {MARKER}"))
        .collect();
    assert_eq!(theirs, expected, "{}: exactly once, in order", proc.name);
}

fn random_file(path: &Path) -> Vec<u8> {
    let mut bytes = vec![0u8; FILE_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn two_devices_never_online_together_exchange_everything_through_their_mailbox() {
    let root = tempfile::tempdir().unwrap();
    let listen = |port: u16| format!("/ip4/127.0.0.1/tcp/{port}");
    let mailbox_dir = root.path().join("mailbox");
    let mailbox = Mailbox::start(&mailbox_dir, &listen(free_port()));

    let (arta_listen, ben_listen) = (listen(free_port()), listen(free_port()));
    let arta_args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        arta_listen.as_str(),
    ];
    let ben_args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        ben_listen.as_str(),
    ];
    let (arta_dir, ben_dir) = (root.path().join("arta"), root.path().join("ben"));

    // They pair side by side, once, and each joins the mailbox.
    let mut arta = Proc::start("arta", &arta_dir, &arta_args, &[]);
    let mut ben = Proc::start("ben", &ben_dir, &ben_args, &[]);
    init(&mut arta, "Arta");
    init(&mut ben, "Ben");
    pair_by_invite(&mut arta, &mut ben);
    for proc in [&mut arta, &mut ben] {
        let joined = proc.ask(json!({"cmd": "mailbox_pair", "code": mailbox.invite}));
        assert_eq!(joined["event"], "mailbox", "{joined}");
        assert!(joined["peer_id"].is_string(), "{joined}");
    }
    ben.quit();

    // Arta's evening: Ben's device is off.
    let arta_bytes = random_file(&root.path().join("arta.bin"));
    let arta_file = write_while_alone(&mut arta, "arta", &root.path().join("arta.bin"));
    arta.quit();

    // Ben's morning: Arta's device is off.
    let mut ben = Proc::start("ben", &ben_dir, &ben_args, &[]);
    collect(
        &mut ben,
        "arta",
        &arta_file,
        &root.path().join("from-arta.bin"),
    );
    let ben_bytes = random_file(&root.path().join("ben.bin"));
    let ben_file = write_while_alone(&mut ben, "ben", &root.path().join("ben.bin"));
    ben.quit();

    // Arta's next evening: Ben's answers, and word that hers arrived.
    let mut arta = Proc::start("arta", &arta_dir, &arta_args, &[]);
    collect(
        &mut arta,
        "ben",
        &ben_file,
        &root.path().join("from-ben.bin"),
    );
    let history = arta.ask(json!({"cmd": "history", "limit": 1000}));
    let mine_delivered = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "me")
        .all(|m| m["delivery"] == "delivered");
    assert!(
        mine_delivered,
        "Arta's messages show as delivered: {history}"
    );
    // Her acknowledgement of Ben's goes to the mailbox for him.
    wait_until(&mut arta, Duration::from_secs(60), |s| {
        s["to_leave"] == 0 && s["waiting_for_partner"] != 0
    });
    arta.quit();

    // Ben's next morning: Arta's acknowledgement; his messages show delivered.
    let mut ben = Proc::start("ben", &ben_dir, &ben_args, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = ben.ask(json!({"cmd": "history", "limit": 1000}));
        let all = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"] == "me")
            .all(|m| m["delivery"] == "delivered");
        if all {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Ben's messages never showed delivered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The next fetch tells the mailbox Ben stored the acknowledgement.
    std::thread::sleep(Duration::from_secs(1));
    wait_until(&mut ben, Duration::from_secs(60), |s| {
        s["reachable"] == true
    });
    ben.quit();
    mailbox.stop();

    // Nothing is left for them, and nothing on the mailbox's disk was ever readable.
    let store = hearth_store::MailboxStore::open(&mailbox_dir).unwrap();
    assert_eq!(
        store.held().unwrap(),
        (0, 0),
        "the mailbox holds nothing for them"
    );
    drop(store);
    let mut disk = Vec::new();
    for entry in walk(&mailbox_dir) {
        disk.extend(std::fs::read(entry).unwrap());
    }
    assert!(
        !contains(&disk, MARKER.as_bytes()),
        "a message in the clear on the mailbox's disk"
    );
    for bytes in [&arta_bytes, &ben_bytes] {
        for at in [0, FILE_BYTES / 2, FILE_BYTES - 64] {
            assert!(
                !contains(&disk, &bytes[at..at + 64]),
                "file bytes in the clear on the mailbox's disk"
            );
        }
    }
}

/// Asks the mailbox's state until `done` holds, for at most `wait`.
fn wait_until(proc: &mut Proc, wait: Duration, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + wait;
    loop {
        let status = proc.ask(json!({"cmd": "mailbox_status"}));
        assert_eq!(status["event"], "mailbox", "{status}");
        if done(&status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: mailbox stuck at {status}",
            proc.name
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `hearth relay --mailbox`: the couple's relay host keeps their mailbox too, and a
/// message left there by one reaches the other, never online together.
#[test]
fn a_relay_can_keep_the_mailbox_too() {
    let root = tempfile::tempdir().unwrap();
    let listen = |port: u16| format!("/ip4/127.0.0.1/tcp/{port}");
    let host = Mailbox::beside_a_relay(
        &root.path().join("relay"),
        &root.path().join("mailbox"),
        &listen(free_port()),
        &listen(free_port()),
    );
    let (arta_listen, ben_listen) = (listen(free_port()), listen(free_port()));
    let arta_args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        arta_listen.as_str(),
    ];
    let ben_args = [
        "--no-mdns",
        "--no-internet",
        "--listen",
        ben_listen.as_str(),
    ];
    let (arta_dir, ben_dir) = (root.path().join("arta"), root.path().join("ben"));
    let mut arta = Proc::start("arta", &arta_dir, &arta_args, &[]);
    let mut ben = Proc::start("ben", &ben_dir, &ben_args, &[]);
    init(&mut arta, "Arta");
    init(&mut ben, "Ben");
    pair_by_invite(&mut arta, &mut ben);
    for proc in [&mut arta, &mut ben] {
        let joined = proc.ask(json!({"cmd": "mailbox_pair", "code": host.invite}));
        assert_eq!(joined["event"], "mailbox", "{joined}");
    }
    ben.quit();
    let sent = arta.ask(json!({"cmd": "send", "text": "natën e mirë, nga larg"}));
    assert_eq!(sent["event"], "message", "{sent}");
    wait_left(&mut arta);
    arta.quit();
    let mut ben = Proc::start("ben", &ben_dir, &ben_args, &[]);
    ben.wait("the message from the relay's mailbox", |e| {
        e["event"] == "message" && e["text"] == "natën e mirë, nga larg"
    });
    ben.quit();
    host.stop();
}
