//! Backup and restore: Arta backs up, her profile is gone, and a restored profile
//! holds the same history and the same files (view-once ones left out); a damaged
//! backup or a wrong passphrase is refused with a clear error and restores nothing;
//! the restored device writes again once it has reached Ben's.

use std::process::Command;

use rand::RngCore;
use serde_json::{Value, json};

use crate::proc::{Proc, free_port, init, pair_by_invite};

fn restore(
    backup: &std::path::Path,
    profile: &std::path::Path,
    passphrase: &str,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["restore", "--backup"])
        .arg(backup)
        .arg("--profile")
        .arg(profile)
        .env("HEARTH_BACKUP_PASSPHRASE", passphrase)
        .env_remove("HEARTH_PASSPHRASE")
        .output()
        .expect("run hearth restore")
}

/// (id, text, attachment name, file state) of every message, oldest first.
fn history(proc: &mut Proc) -> Vec<(Value, Value, Value, Value)> {
    let answer = proc.ask(json!({"cmd": "history", "limit": 1000}));
    answer["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].clone(),
                m["text"].clone(),
                m["attachment"]["name"].clone(),
                m["attachment"]["file"]["state"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_backup_restores_the_same_history_and_a_damaged_one_restores_nothing() {
    let root = tempfile::tempdir().unwrap();
    let listen = |port: u16| format!("/ip4/127.0.0.1/tcp/{port}");
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
    let mut arta = Proc::start("arta", &root.path().join("arta"), &arta_args, &[]);
    let mut ben = Proc::start("ben", &root.path().join("ben"), &ben_args, &[]);
    init(&mut arta, "Arta");
    init(&mut ben, "Ben");
    pair_by_invite(&mut arta, &mut ben);

    let mut photo = vec![0u8; 3 * 1024 * 1024 + 77];
    rand::thread_rng().fill_bytes(&mut photo);
    let photo_path = root.path().join("korçë.jpg");
    std::fs::write(&photo_path, &photo).unwrap();
    let secret_path = root.path().join("only-once.png");
    std::fs::write(&secret_path, b"just for your eyes, once").unwrap();
    arta.ask(json!({"cmd": "send", "text": "Mirëmëngjes ☀"}));
    let sent = ben.ask(json!({"cmd": "send", "text": "Good morning, from Toronto"}));
    arta.wait("Ben's message", |e| {
        e["event"] == "message" && e["id"] == sent["id"]
    });
    let file = arta.ask(json!({"cmd": "send_file", "path": photo_path}));
    let file_id = file["id"].as_str().unwrap().to_string();
    ben.wait("the photo", |e| {
        e["event"] == "transfer_done" && e["id"] == file_id.as_str()
    });
    let once = arta.ask(json!({"cmd": "send_file", "path": secret_path, "view_once": true}));
    assert_eq!(once["event"], "message", "{once}");
    // Sealed, and its hashes written, before the backup: an op written after it
    // would be one the restored device lacks (and it would wait for it).
    arta.wait("the view-once file sealed", |e| {
        e["event"] == "message_changed"
            && e["id"] == once["id"]
            && e["attachment"]["blake3"]
                .as_str()
                .is_some_and(|h| h.chars().any(|c| c != '0'))
    });

    let backup = root.path().join("arta.hearth");
    let done = arta.ask(json!({"cmd": "backup", "path": backup, "passphrase": "our long summer"}));
    assert_eq!(done["event"], "backup_done", "{done}");
    assert_eq!(done["files"], 1, "the view-once file is left out: {done}");
    let before = history(&mut arta);
    arta.quit();
    ben.quit();

    // A wrong passphrase, a damaged backup: refused, and nothing is left behind.
    let wrong = restore(&backup, &root.path().join("wrong"), "our short winter");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("passphrase does not open"));
    assert!(!root.path().join("wrong").exists());
    let mut damaged_bytes = std::fs::read(&backup).unwrap();
    let middle = damaged_bytes.len() / 2;
    damaged_bytes[middle] ^= 0x40;
    let damaged = root.path().join("damaged.hearth");
    std::fs::write(&damaged, &damaged_bytes).unwrap();
    let refused = restore(
        &damaged,
        &root.path().join("from-damaged"),
        "our long summer",
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("damaged") && said.contains("nothing was restored"),
        "{said}"
    );
    assert!(!root.path().join("from-damaged").exists());
    assert!(
        std::fs::read_dir(root.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("restoring")),
        "a half-restored profile was left behind"
    );

    // The laptop is lost: restored on a new one.
    std::fs::remove_dir_all(root.path().join("arta")).unwrap();
    let restored = restore(&backup, &root.path().join("arta-new"), "our long summer");
    assert!(restored.status.success(), "{restored:?}");
    let mut arta = Proc::start("arta", &root.path().join("arta-new"), &arta_args, &[]);
    let after = history(&mut arta);
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b.0, &b.1, &b.2), (&a.0, &a.1, &a.2), "the same messages");
    }
    let states: Vec<&Value> = after.iter().map(|m| &m.3).collect();
    assert!(
        states.contains(&&json!("ready")),
        "the photo is here: {states:?}"
    );
    let saved = root.path().join("saved.jpg");
    let answer = arta.ask(json!({"cmd": "save_file", "id": file_id, "path": saved}));
    assert_eq!(answer["event"], "ok", "{answer}");
    assert_eq!(std::fs::read(&saved).unwrap(), photo, "bit-exact");

    // It writes again once it has reached Ben's device.
    let refused = arta.ask(json!({"cmd": "send", "text": "too early"}));
    assert_eq!(refused["reason"], "restored_waiting", "{refused}");
    let mut ben = Proc::start("ben", &root.path().join("ben"), &ben_args, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let sent = loop {
        let answer = arta.ask(json!({"cmd": "send", "text": "back, on a new laptop"}));
        if answer["event"] == "message" {
            break answer;
        }
        assert_eq!(answer["reason"], "restored_waiting", "{answer}");
        assert!(std::time::Instant::now() < deadline, "never wrote again");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    ben.wait("the first message from the new laptop", |e| {
        e["event"] == "message" && e["id"] == sent["id"]
    });
    arta.quit();
    ben.quit();
}
