//! hearth-store as its users meet it: what survives a crash, what a stolen disk shows,
//! and what a wrong passphrase or a damaged database says.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth_core::{DeviceId, Lamport, Op, OpBody, OpId};
use hearth_store::{KdfParams, KeyProtection, OpenError, Store, StoreError};

const ME: DeviceId = DeviceId([7; 32]);
const PARTNER: DeviceId = DeviceId([9; 32]);

fn text(s: &str) -> OpBody {
    OpBody::Text {
        text: s.into(),
        reply_to: None,
    }
}

/// Cheap Argon2 costs: these tests check behaviour, not the cost of guessing.
const FAST: KdfParams = KdfParams {
    memory_kib: 1024,
    iterations: 1,
    parallelism: 1,
};

fn remote(seq: u64, lamport: u64, body: OpBody) -> Op {
    Op {
        id: OpId {
            author: PARTNER,
            seq,
        },
        lamport: Lamport(lamport),
        wall_ms: 0,
        body,
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn history_survives_reopening_in_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        assert_eq!(store.key_protection(), KeyProtection::KeyFile);
        store.append_local(ME, 1, text("first")).unwrap();
        store.apply_remote(&[remote(1, 2, text("second"))]).unwrap();
        store.append_local(ME, 3, text("third")).unwrap();
        store.flush().unwrap();
    }
    let store = Store::open(dir.path(), None).unwrap();
    let texts: Vec<_> = store
        .page_before(None, 10)
        .unwrap()
        .iter()
        .map(|m| m.text().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["first", "second", "third"]);
    assert_eq!(store.held(ME), 2);
    assert_eq!(store.held(PARTNER), 1);
    // The next local op comes after everything seen, remote ops included.
    assert_eq!(store.lamport(), Lamport(3));
}

#[test]
fn nothing_readable_is_left_on_disk() {
    let marker = "hearth-secret-marker-5b1d";
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        for i in 0..300 {
            store
                .append_local(ME, i, text(&format!("{marker} {i}")))
                .unwrap();
        }
        store
            .apply_remote(&[remote(1, 1, text(&format!("reply {marker}")))])
            .unwrap();
        store
            .set_setting("profile", &format!("name {marker}"))
            .unwrap();
        store.flush().unwrap();
    }
    let files = files_under(dir.path());
    assert!(files.len() >= 3, "the profile has its files: {files:?}");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let found = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
        assert!(!found, "{} holds the marker in plaintext", file.display());
    }
}

#[test]
fn wrong_passphrase_says_so_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create_with(dir.path(), Some("our secret"), FAST).unwrap();
        assert_eq!(store.key_protection(), KeyProtection::Passphrase);
        store.append_local(ME, 1, text("kept")).unwrap();
        store.flush().unwrap();
    }
    assert!(!dir.path().join("data.key").exists());
    let before: Vec<_> = files_under(dir.path())
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();

    let err = Store::open(dir.path(), Some("not it")).unwrap_err();
    assert!(matches!(err, OpenError::WrongPassphrase), "{err}");
    assert_eq!(err.to_string(), "wrong passphrase");
    assert!(matches!(
        Store::open(dir.path(), None).unwrap_err(),
        OpenError::PassphraseRequired
    ));
    for (file, bytes) in &before {
        assert_eq!(
            &std::fs::read(file).unwrap(),
            bytes,
            "{} changed",
            file.display()
        );
    }

    let store = Store::open(dir.path(), Some("our secret")).unwrap();
    assert_eq!(store.page_before(None, 5).unwrap()[0].text(), Some("kept"));
}

#[test]
fn changing_the_passphrase_rewraps_the_key_only() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        store.append_local(ME, 1, text("still here")).unwrap();
        store.flush().unwrap();
        store.change_passphrase(Some("new one")).unwrap();
        assert_eq!(store.key_protection(), KeyProtection::Passphrase);
    }
    assert!(
        !dir.path().join("data.key").exists(),
        "the key file is gone"
    );
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(matches!(err, OpenError::PassphraseRequired), "{err}");
    let mut store = Store::open(dir.path(), Some("new one")).unwrap();
    assert_eq!(
        store.page_before(None, 5).unwrap()[0].text(),
        Some("still here")
    );
    store.change_passphrase(None).unwrap();
    drop(store);
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.key_protection(), KeyProtection::KeyFile);
}

#[test]
fn a_profile_open_elsewhere_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::create(dir.path(), None).unwrap();
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("open in another running Hearth"));
}

#[test]
fn creating_over_a_profile_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), None).unwrap());
    assert!(matches!(
        Store::create(dir.path(), None).unwrap_err(),
        OpenError::AlreadyExists { .. }
    ));
    assert!(matches!(
        Store::open(&dir.path().join("nowhere"), None).unwrap_err(),
        OpenError::NoProfile { .. }
    ));
}

#[test]
fn a_newer_schema_is_refused_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), None).unwrap());
    {
        let db = open_sled_when_free(&dir.path().join("db"));
        let tree = db.open_tree("hearth").unwrap();
        tree.insert(b"m/schema", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::NewerSchema {
                found: 99,
                supported: hearth_store::SCHEMA_VERSION
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("update Hearth"));
}

/// A profile of schema 1 opens as it is and is marked schema 2 from then on, so a
/// build that reads only 1 refuses it rather than misreading its files.
#[test]
fn an_older_schema_opens_and_is_marked_newer() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        store.append_local(ME, 1, text("e vjetër")).unwrap();
        store.flush().unwrap();
    }
    let schema = |value: u32| {
        let db = open_sled_when_free(&dir.path().join("db"));
        let tree = db.open_tree("hearth").unwrap();
        if value > 0 {
            tree.insert(b"m/schema", &value.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let found = tree.get(b"m/schema").unwrap().unwrap();
        u32::from_be_bytes(found.as_ref().try_into().unwrap())
    };
    schema(1);
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.page_before(None, 10).unwrap().len(), 1);
    drop(store);
    assert_eq!(schema(0), hearth_store::SCHEMA_VERSION);
}

#[test]
fn a_database_sled_refuses_is_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        store.append_local(ME, 1, text("precious")).unwrap();
        store.flush().unwrap();
    }
    // sled's config file holds the segment size it needs to read the log; garbage
    // there makes sled refuse the database, as after some unclean stops.
    let conf = dir.path().join("db").join("conf");
    std::fs::write(&conf, b"this is not sled's config").unwrap();
    let before: Vec<_> = files_under(dir.path())
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(matches!(err, OpenError::Unopenable { .. }), "{err}");
    assert!(err.to_string().contains("left untouched"));
    for (file, bytes) in &before {
        assert_eq!(
            &std::fs::read(file).unwrap(),
            bytes,
            "{} changed",
            file.display()
        );
    }
}

#[test]
fn remote_batches_are_idempotent_and_gapless() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    let batch: Vec<Op> = (1..=5)
        .map(|s| remote(s, s, text(&format!("m{s}"))))
        .collect();
    assert_eq!(store.apply_remote(&batch[..3]).unwrap().new.len(), 3);
    // Overlapping redelivery: only 4 and 5 are new.
    let applied = store.apply_remote(&batch[1..]).unwrap();
    assert_eq!(
        applied.new.iter().map(|op| op.id.seq).collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(store.apply_remote(&batch).unwrap().new.is_empty());

    let gap = [remote(6, 6, text("six")), remote(8, 8, text("eight"))];
    let err = store.apply_remote(&gap).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Gap {
                expected: 7,
                got: 8,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.held(PARTNER),
        5,
        "nothing of the rejected batch was kept"
    );
    assert_eq!(store.page_before(None, 100).unwrap().len(), 5);
}

#[test]
fn edits_deletes_reactions_and_reads_fold_into_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    let mine = store.append_local(ME, 1, text("draft")).unwrap();
    let gone = store.append_local(ME, 2, text("oops")).unwrap();
    store
        .append_local(
            ME,
            3,
            OpBody::Edit {
                target: mine.id,
                text: "final".into(),
            },
        )
        .unwrap();
    store
        .append_local(ME, 4, OpBody::Delete { target: gone.id })
        .unwrap();
    store
        .apply_remote(&[
            remote(
                1,
                10,
                OpBody::ReactionAdd {
                    target: mine.id,
                    emoji: "❤️".into(),
                },
            ),
            remote(2, 11, OpBody::ReadMarker { up_to: gone.id }),
        ])
        .unwrap();
    let page = store.page_before(None, 10).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].text(), Some("final"));
    assert_eq!(page[0].state.reactions()[0].emoji, "❤️");
    assert_eq!(page[1].text(), None, "deleted");
    assert_eq!(store.read_up_to(ME), gone.id.seq);
}

/// Regression: ties in Lamport time were broken by the order in which each store
/// first saw a device, so two partners' simultaneous first messages showed in
/// opposite orders on their two devices (found by the kill -9 chaos test).
#[test]
fn both_devices_order_simultaneous_messages_the_same_way() {
    let order = |first_local: DeviceId, other: DeviceId| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path(), None).unwrap();
        // Both write at Lamport 1 before hearing from the other.
        store.append_local(first_local, 0, text("mine")).unwrap();
        store
            .apply_remote(&[Op {
                id: OpId {
                    author: other,
                    seq: 1,
                },
                lamport: Lamport(1),
                wall_ms: 0,
                body: text("theirs"),
            }])
            .unwrap();
        store
            .page_before(None, 10)
            .unwrap()
            .iter()
            .map(|m| m.op.id.author)
            .collect::<Vec<_>>()
    };
    let on_mine = order(ME, PARTNER);
    let on_partners = order(PARTNER, ME);
    assert_eq!(on_mine, on_partners);
    assert_eq!(
        on_mine,
        [ME, PARTNER],
        "ties break by device id, as in hearth-core"
    );
}

#[test]
fn paging_walks_back_through_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    for i in 1..=250u64 {
        store.append_local(ME, 0, text(&format!("m{i}"))).unwrap();
    }
    let mut before = None;
    let mut seen = Vec::new();
    loop {
        let page = store.page_before(before, 50).unwrap();
        if page.is_empty() {
            break;
        }
        before = Some(page[0].op.pos());
        seen.splice(0..0, page.into_iter().map(|m| m.op.id.seq));
    }
    assert_eq!(seen, (1..=250).collect::<Vec<_>>());
    assert_eq!(store.ops_after(ME, 240, 100).unwrap().len(), 10);
}

#[test]
fn moved_ciphertext_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::create(dir.path(), None).unwrap();
        store.append_local(ME, 1, text("one")).unwrap();
        store.append_local(ME, 2, text("two")).unwrap();
        store.flush().unwrap();
    }
    {
        // Swap the two ops' sealed values, as someone with the disk might try.
        let db = open_sled_when_free(&dir.path().join("db"));
        let tree = db.open_tree("hearth").unwrap();
        let ops: Vec<_> = tree.scan_prefix(b"o").map(|e| e.unwrap()).collect();
        tree.insert(&ops[0].0, ops[1].1.clone()).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path(), None).unwrap();
    assert!(matches!(
        store.page_before(None, 10).unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

/// Opens the database behind a store just dropped. sled's flusher thread can hold
/// its lock for a moment after the last handle goes; `Store::open` waits for it, and
/// a test that opens sled itself must too.
fn open_sled_when_free(path: &Path) -> sled::Db {
    for _ in 0..200 {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    sled::open(path).unwrap()
}

/// Run as a child process by `acked_ops_survive_kill_9`: appends batches and flushes
/// each, printing the highest flushed seq, until it is killed.
fn append_until_killed(dir: &Path) {
    let mut store = if Store::exists(dir) {
        Store::open(dir, None).unwrap()
    } else {
        Store::create(dir, None).unwrap()
    };
    let mut batch = 1;
    loop {
        let mut last = 0;
        for _ in 0..batch {
            last = store.append_local(ME, 0, text("durable?")).unwrap().id.seq;
        }
        store.flush().unwrap();
        println!("flushed {last}");
        batch = batch % 37 + 1;
    }
}

#[test]
fn acked_ops_survive_kill_9() {
    if let Some(dir) = std::env::var_os("HEARTH_TEST_APPEND_UNTIL_KILLED") {
        append_until_killed(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut total_reported = 0;
    for round in 0..4 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acked_ops_survive_kill_9",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HEARTH_TEST_APPEND_UNTIL_KILLED", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill it after a varying number of flushes, at a moment it does not expect.
        let kill_after = 20 + rand::random::<u64>() % 200;
        let started = Instant::now();
        let mut reported = 0;
        for line in lines {
            let line = line.unwrap();
            if let Some(seq) = line.strip_prefix("flushed ") {
                reported = seq.parse().unwrap();
                if reported >= total_reported + kill_after
                    || started.elapsed() > Duration::from_secs(20)
                {
                    break;
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            reported > total_reported,
            "round {round}: the child made progress"
        );

        let store = Store::open(dir.path(), None).unwrap();
        let held = store.held(ME);
        assert!(
            held >= reported,
            "round {round}: held {held} < reported {reported}"
        );
        let ops = store.ops_after(ME, 0, usize::MAX).unwrap();
        let seqs: Vec<u64> = ops.iter().map(|op| op.id.seq).collect();
        assert_eq!(
            seqs,
            (1..=held).collect::<Vec<_>>(),
            "round {round}: contiguous"
        );
        assert_eq!(
            store.page_before(None, usize::MAX).unwrap().len() as u64,
            held
        );
        total_reported = held;
    }
}

/// A partner's device that writes what it likes: ops naming strangers' messages, a
/// clock at u64::MAX, a read marker for messages not written yet, thousands of
/// reactions. Every op is kept (the log stays whole, so sync acknowledges it and
/// stops), none of these changes anything, and history still pages.
#[test]
fn a_partners_ops_out_of_bounds_are_kept_but_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    let mine = store.append_local(ME, 1, text("mine")).unwrap();
    store.apply_remote(&[remote(1, 2, text("theirs"))]).unwrap();
    let clock = store.lamport();

    let stranger = |n: u8| OpId {
        author: DeviceId([n; 32]),
        seq: 1,
    };
    let mut seq = 1;
    let mut next = |lamport: u64, body: OpBody| {
        seq += 1;
        remote(seq, lamport, body)
    };
    let mut hostile = vec![
        next(
            10,
            OpBody::ReactionAdd {
                target: stranger(1),
                emoji: "❤️".into(),
            },
        ),
        next(
            11,
            OpBody::Delete {
                target: stranger(2),
            },
        ),
        next(
            12,
            OpBody::Text {
                text: "re".into(),
                reply_to: Some(stranger(3)),
            },
        ),
        next(13, OpBody::ReadMarker { up_to: stranger(4) }),
        // A message of mine not written yet.
        next(
            14,
            OpBody::ReadMarker {
                up_to: OpId {
                    author: ME,
                    seq: u64::MAX,
                },
            },
        ),
        next(
            15,
            OpBody::ReactionAdd {
                target: OpId {
                    author: ME,
                    seq: 99,
                },
                emoji: "❤️".into(),
            },
        ),
        // Its own messages read, someone else's file ready.
        next(
            16,
            OpBody::ReadMarker {
                up_to: OpId {
                    author: PARTNER,
                    seq: 1,
                },
            },
        ),
        next(
            17,
            OpBody::FileReady {
                target: mine.id,
                hash: [1; 32],
                chunks_root: [2; 32],
            },
        ),
        // Clocks: the end of time, a step back, a leap.
        next(u64::MAX, text("from the end of time")),
        next(1, text("from the past")),
        next(18 + (1 << 40), text("from far ahead")),
        next(
            19,
            OpBody::ReactionAdd {
                target: mine.id,
                emoji: "not an emoji".into(),
            },
        ),
    ];
    let hostile_count = hostile.len();
    for i in 0..5_000u64 {
        let emoji = char::from_u32(0x1F300 + (i % 600) as u32)
            .unwrap()
            .to_string();
        hostile.push(next(
            20 + i,
            OpBody::ReactionAdd {
                target: mine.id,
                emoji,
            },
        ));
    }
    let honest = next(6_000, text("still here"));
    hostile.push(honest.clone());

    let applied = store.apply_remote(&hostile).unwrap();
    assert_eq!(
        applied.ignored.len(),
        hostile_count,
        "{:?}",
        applied.ignored
    );
    // Everything is held: acknowledged, never sent again.
    assert_eq!(store.held(PARTNER), seq);
    assert!(applied.new.contains(&honest));

    // Only the two real devices; no message of mine marked read; a sane clock.
    assert_eq!(store.held_all().len(), 2);
    assert_eq!(store.read_up_to(ME), 0);
    assert!(
        store.lamport().0 < clock.0 + 10_000,
        "{:?}",
        store.lamport()
    );
    // A new message of mine still comes after everything.
    let after = store.append_local(ME, 2, text("after")).unwrap();
    assert!(after.lamport > honest.lamport);

    // History pages, with the honest messages only, and a few reactions on mine.
    let page = store.page_before(None, 100).unwrap();
    let texts: Vec<_> = page
        .iter()
        .filter_map(|m| match &m.op.body {
            OpBody::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["mine", "theirs", "still here", "after"]);
    let on_mine = &page[0].state;
    assert_eq!(
        on_mine.reactions().len(),
        hearth_core::limits::MAX_REACTIONS_PER_PERSON
    );
    drop(store);

    // And it all holds after reopening.
    let store = Store::open(dir.path(), None).unwrap();
    assert_eq!(store.held(PARTNER), seq);
    assert_eq!(store.read_up_to(ME), 0);
    assert_eq!(store.page_before(None, 100).unwrap().len(), 4);
    // The partner's clock bound is remembered: an op behind its newest is ignored.
    let mut store = store;
    let late = store
        .apply_remote(&[remote(seq + 1, 50, text("late"))])
        .unwrap();
    assert_eq!(late.ignored.len(), 1);
}

/// A damaged or planted `keys.bin` that asks the key derivation for 4 TiB of memory
/// (or endless passes) is refused with an error; nothing is attempted or changed.
#[test]
fn key_derivation_costs_from_disk_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create_with(dir.path(), Some("fjalëkalim"), FAST).unwrap());
    let path = dir.path().join("keys.bin");
    let original = std::fs::read(&path).unwrap();
    // The format's version, Envelope::Passphrase, then the costs as varints:
    // 1024 KiB (0x80 0x08), 1 pass, 1 lane.
    assert_eq!(original[..6], [1, 0, 0x80, 0x08, 1, 1]);
    for costs in [
        vec![0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1],
        vec![0x80, 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 1],
    ] {
        let mut planted = vec![1, 0];
        planted.extend(&costs);
        planted.extend(&original[6..]);
        std::fs::write(&path, &planted).unwrap();
        let opened = Store::open(dir.path(), Some("fjalëkalim"));
        assert!(
            matches!(&opened, Err(OpenError::BadKey { reason, .. }) if reason.contains("out of bounds")),
            "{:?}",
            opened.err()
        );
        assert_eq!(std::fs::read(&path).unwrap(), planted, "nothing changed");
    }
    std::fs::write(&path, &original).unwrap();
    assert!(Store::open(dir.path(), Some("fjalëkalim")).is_ok());
}

/// The profile folder is the user's alone, even one that existed before with wider
/// permissions, or was opened up since.
#[test]
fn the_profile_folder_is_private_whatever_it_was() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("profile");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let open_up = |p: &Path| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    std::fs::create_dir(&dir).unwrap();
    open_up(&dir);
    drop(Store::create_with(&dir, None, FAST).unwrap());
    assert_eq!(mode(&dir), 0o700);
    open_up(&dir);
    drop(Store::open(&dir, None).unwrap());
    assert_eq!(mode(&dir), 0o700);
}

/// An edit that comes after its message was deleted (a partner's late op, or one
/// sent in a race) is kept only as a tombstone: deleted stays gone.
#[test]
fn an_edit_after_the_delete_is_kept_only_as_a_tombstone() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    let target = OpId {
        author: PARTNER,
        seq: 1,
    };
    store
        .apply_remote(&[
            remote(1, 1, text("the first words")),
            remote(2, 2, OpBody::Delete { target }),
        ])
        .unwrap();
    store
        .apply_remote(&[remote(
            3,
            3,
            OpBody::Edit {
                target,
                text: "the words after".into(),
            },
        )])
        .unwrap();
    assert!(!store.holds_plaintext(b"the first words").unwrap());
    assert!(!store.holds_plaintext(b"the words after").unwrap());
    assert_eq!(store.held(PARTNER), 3);
    assert!(store.page_before(None, 10).unwrap()[0].state.is_deleted());
}

/// A backup restores the history as it was: replies, reactions and read markers
/// that name the other partner's messages keep their effect, whichever log is
/// indexed first.
#[test]
fn a_restored_backup_keeps_replies_reactions_and_read_markers() {
    use hearth_store::{BackupReader, BackupWriter, KdfParams};
    let quick = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let (me, partner) = (DeviceId([1; 32]), DeviceId([2; 32]));
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), None).unwrap();
    // The partner writes first, so its log is indexed first; then this device
    // answers and reacts, and the partner reacts to that.
    let hello = Op {
        id: OpId {
            author: partner,
            seq: 1,
        },
        lamport: Lamport(1),
        wall_ms: 0,
        body: OpBody::Text {
            text: "përshëndetje".into(),
            reply_to: None,
        },
    };
    store.apply_remote(std::slice::from_ref(&hello)).unwrap();
    let answer = store
        .append_local(
            me,
            0,
            OpBody::Text {
                text: "hello back".into(),
                reply_to: Some(hello.id),
            },
        )
        .unwrap();
    store
        .append_local(
            me,
            0,
            OpBody::ReactionAdd {
                target: hello.id,
                emoji: "❤".into(),
            },
        )
        .unwrap();
    store
        .append_local(me, 0, OpBody::ReadMarker { up_to: hello.id })
        .unwrap();
    let theirs = Op {
        id: OpId {
            author: partner,
            seq: 2,
        },
        lamport: Lamport(10),
        wall_ms: 0,
        body: OpBody::ReactionAdd {
            target: answer.id,
            emoji: "😊".into(),
        },
    };
    store.apply_remote(&[theirs]).unwrap();
    store.flush().unwrap();

    let mut writer = BackupWriter::new(Vec::new(), "pass", quick, 0).unwrap();
    store
        .backup_source(&[])
        .unwrap()
        .write(&mut writer, &[], |_| {})
        .unwrap();
    let bytes = writer.finish().unwrap();

    let restored_dir = tempfile::tempdir().unwrap();
    let mut restored = Store::create(restored_dir.path(), None).unwrap();
    let mut reader = BackupReader::open(bytes.as_slice(), "pass").unwrap();
    let summary = restored.restore_from(&mut reader, |_| {}).unwrap();
    assert_eq!(summary.ops, 5);
    for id in [hello.id, answer.id] {
        let (a, b) = (
            store.message(id).unwrap().unwrap(),
            restored.message(id).unwrap().unwrap(),
        );
        assert_eq!(a.state.reactions(), b.state.reactions(), "{id:?}");
        assert!(!b.state.reactions().is_empty(), "{id:?} lost its reaction");
    }
    assert_eq!(
        restored.read_up_to(partner),
        1,
        "the read marker keeps its effect"
    );
}
