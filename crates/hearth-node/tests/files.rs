//! Attachments between two engines on loopback: exact arrival, damaged chunks asked
//! for again, view-once and expiring media gone from both devices, Memories, and chat
//! that keeps flowing while a file moves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use hearth_node::{
    Author, FileSource, FileState, MessageId, MessageView, NodeError, NodeEvent, Refusal,
    SendOptions, TransferFailure, hex,
};
use rand::RngCore;

const MIB: usize = 1024 * 1024;

fn random_file(dir: &Path, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

/// A 640×480 PNG with a gradient: a photo as far as the app can tell.
fn photo(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let image = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, 128])
    });
    let path = dir.join(name);
    image.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

async fn arrived(device: &Device, id: MessageId) -> NodeEvent {
    device
        .wait_event(
            "transfer_done",
            |e| matches!(e, NodeEvent::TransferDone { id: done, .. } if *done == id),
        )
        .await
}

/// Waits until the sender shows its own copy of the file of message `id` sealed.
async fn sealed_by_sender(device: &Device, id: MessageId) {
    device
        .wait_event("the sender's copy sealed", |e| {
            matches!(e, NodeEvent::MessageChanged(m)
                if m.id == id && m.attachment.as_ref().is_some_and(|a| a.file == FileState::Ready))
        })
        .await;
}

/// `.blob` files in a profile: the chunks of every attachment it holds.
fn blob_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("files"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "blob"))
                .count()
        })
        .unwrap_or(0)
}

/// Alice and Bob paired, Alice sealing a file she sends only as fast as the gate
/// lets her, and serving each chunk after `serve_delay` (if any).
async fn paired_with_gate(
    root: &Path,
    serve_delay: Option<Duration>,
) -> (std::sync::Arc<hearth_node::SealGate>, Device, Device) {
    let gate = std::sync::Arc::new(hearth_node::SealGate::default());
    let alice_gate = gate.clone();
    let (alice, bob) = paired_pair_with(root, move |config| {
        config.faults.seal_gate = Some(alice_gate);
        config.faults.serve_delay = serve_delay;
    })
    .await;
    (gate, alice, bob)
}

/// Waits until `device` shows the file of message `id` as gone for good.
async fn wait_gone(device: &Device, id: MessageId, what: &str) {
    device
        .wait_history(what, |h| {
            h.iter().any(|m| {
                m.id == id
                    && m.attachment
                        .as_ref()
                        .is_some_and(|a| a.file == FileState::Gone)
            })
        })
        .await;
}

fn view_of(history: &[MessageView], id: MessageId) -> &MessageView {
    history.iter().find(|m| m.id == id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_chunk_is_refused_and_fetched_again() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) =
        paired_pair_with(root.path(), |c| c.faults.corrupt_chunk_once = Some(3)).await;
    let (path, bytes) = random_file(root.path(), "holiday.mov", 6 * MIB + 12_345);

    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    let attachment = sent.attachment.as_ref().unwrap();
    assert_eq!(attachment.name, "holiday.mov");
    assert_eq!(attachment.mime, "video/quicktime");
    assert_eq!(attachment.size, bytes.len() as u64);
    // The message is written before the file is read; the file follows.
    assert_eq!(attachment.file, FileState::Preparing);

    let NodeEvent::TransferDone {
        blake3,
        received,
        rejected_chunks,
        ..
    } = arrived(&bob, sent.id).await
    else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
    assert_eq!(rejected_chunks, 1, "the damaged chunk is noticed");
    assert_eq!(
        received,
        bytes.len() as u64 + MIB as u64,
        "and fetched once more"
    );

    let saved = root.path().join("saved.mov");
    bob.handle.save_file(sent.id, &saved).await.unwrap();
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        bytes,
        "the saved copy is bit-exact"
    );
    let history = bob.history().await;
    assert_eq!(
        view_of(&history, sent.id).attachment.as_ref().unwrap().file,
        FileState::Ready
    );
    // The sender saw the partner's progress too.
    alice
        .wait_event("upload progress", |e| {
            matches!(e, NodeEvent::Transfer { incoming: false, done, total, .. } if done == total)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_arrives_with_its_thumbnail_and_is_in_memories() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;
    let (path, bytes) = photo(root.path(), "sunset.png");
    alice.handle.send("before the photo", None).await.unwrap();
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();

    let NodeEvent::Message(seen) = bob
        .wait_event(
            "the photo message",
            |e| matches!(e, NodeEvent::Message(m) if m.id == sent.id),
        )
        .await
    else {
        unreachable!()
    };
    let attachment = seen.attachment.unwrap();
    assert_eq!(attachment.mime, "image/png");
    let thumbnail = attachment.thumbnail.expect("a photo carries a thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (320, 240));
    let thumb = hearth_node::pictures::decode_thumbnail(&thumbnail).unwrap();
    assert_eq!(thumb.dimensions(), (320, 240));

    arrived(&bob, sent.id).await;
    let opened = bob.handle.open_file(sent.id).await.unwrap();
    assert_eq!(opened, bytes);
    // Opening an ordinary photo changes nothing: it stays, on both sides.
    assert_eq!(blob_files(&bob.dir), 1);
    let memories = bob.handle.memories(50, None).await.unwrap();
    assert_eq!(memories.len(), 1, "only the photo, not the text");
    assert_eq!(memories[0].id, sent.id);
    assert_eq!(memories[0].author, Author::Partner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_once_is_gone_from_both_devices_once_opened() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;
    let (path, bytes) = photo(root.path(), "for-you.png");
    let once = SendOptions {
        view_once: true,
        expires_after_open_secs: None,
    };
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), once)
        .await
        .unwrap();
    assert!(
        sent.attachment.as_ref().unwrap().thumbnail.is_none(),
        "veiled: no thumbnail"
    );
    arrived(&bob, sent.id).await;
    sealed_by_sender(&alice, sent.id).await;
    assert_eq!(blob_files(&alice.dir), 1);
    assert_eq!(blob_files(&bob.dir), 1);

    // Never exported, never in Memories, on either side.
    for device in [&alice, &bob] {
        let refused = device
            .handle
            .save_file(sent.id, root.path().join("copy.png"))
            .await;
        assert!(
            matches!(refused, Err(NodeError::Refused(Refusal::EphemeralNotSaved))),
            "{}: a view-once photo was saved: {refused:?}",
            device.name
        );
        assert!(device.handle.memories(50, None).await.unwrap().is_empty());
    }
    assert!(!root.path().join("copy.png").exists());

    assert_eq!(bob.handle.open_file(sent.id).await.unwrap(), bytes);
    // Gone here at once, and on Alice's device when the op reaches it.
    assert_eq!(blob_files(&bob.dir), 0);
    wait_gone(&alice, sent.id, "the photo gone").await;
    assert_eq!(blob_files(&alice.dir), 0);
    let again = bob.handle.open_file(sent.id).await;
    assert!(
        matches!(again, Err(NodeError::Refused(Refusal::ViewOnceGone))),
        "it opens once: {again:?}"
    );

    // Neither store holds a key or record of it.
    for device in [alice, bob] {
        device.handle.shutdown().await;
        let store = hearth_store::Store::open(&device.dir, None).unwrap();
        assert!(
            store.blobs().list().unwrap().is_empty(),
            "{}: a record is left",
            device.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_media_goes_after_its_time() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;
    let (path, _) = random_file(root.path(), "voice.ogg", 200_000);
    let expiring = SendOptions {
        view_once: false,
        expires_after_open_secs: Some(2),
    };
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), expiring)
        .await
        .unwrap();
    arrived(&bob, sent.id).await;
    // Opened twice within its time: it can be played again until it expires.
    bob.handle.open_file(sent.id).await.unwrap();
    bob.handle.open_file(sent.id).await.unwrap();
    for device in [&alice, &bob] {
        wait_gone(device, sent.id, "the file expired").await;
        // The view says so at once; the chunks go at the engine's next tick.
        let deadline = std::time::Instant::now() + WAIT;
        while blob_files(&device.dir) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: chunks left",
                device.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_keeps_flowing_while_a_file_moves() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    // A slow uplink: the file takes at least 24 × 40 ms to move.
    let (alice, bob) = paired_pair_with(root.path(), |c| {
        c.faults.serve_delay = Some(Duration::from_millis(40));
    })
    .await;
    let (path, bytes) = random_file(root.path(), "film.mp4", 24 * MIB);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    bob.wait_event(
        "the file starting to arrive",
        |e| matches!(e, NodeEvent::Transfer { id, incoming: true, .. } if *id == sent.id),
    )
    .await;
    for i in 0..10 {
        alice
            .handle
            .send(format!("still here {i}"), None)
            .await
            .unwrap();
    }
    bob.wait_history("all ten texts", |h| {
        h.iter().filter(|m| m.text.is_some()).count() == 10
    })
    .await;
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::TransferDone { .. })),
        0,
        "the texts waited for the file"
    );
    let NodeEvent::TransferDone { blake3, .. } = arrived(&bob, sent.id).await else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
}

/// The partner sees the message of a big file at once: it is written before the
/// file is read, and reaches the partner while this device is still sealing the
/// file. The bytes follow, checked against hashes written once sealing is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_files_message_reaches_the_partner_before_the_file_is_sealed() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let (path, bytes) = random_file(root.path(), "film.mkv", 96 * MIB + 7);

    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    assert_eq!(
        sent.attachment.as_ref().unwrap().file,
        FileState::Preparing,
        "send_file answers before the file is read"
    );
    let sealed_here = |e: &NodeEvent| {
        matches!(e, NodeEvent::MessageChanged(m)
            if m.id == sent.id && m.attachment.as_ref().is_some_and(|a| a.file == FileState::Ready))
    };
    let NodeEvent::Message(shown) = bob
        .wait_event(
            "the message",
            |e| matches!(e, NodeEvent::Message(m) if m.id == sent.id),
        )
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        alice.count_events(sealed_here),
        0,
        "the partner has the message while the file is still being sealed"
    );
    let shown = shown.attachment.unwrap();
    assert_eq!(
        (shown.name.as_str(), shown.size),
        ("film.mkv", bytes.len() as u64)
    );
    assert_eq!(shown.file, FileState::Preparing);

    let NodeEvent::TransferDone { blake3, .. } = arrived(&bob, sent.id).await else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
    // The sender's own copy is sealed once the partner has fetched it.
    sealed_by_sender(&alice, sent.id).await;
    let saved = root.path().join("film-copy.mkv");
    bob.handle.save_file(sent.id, &saved).await.unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), bytes, "bit-exact");
}

/// The partner does not wait for the sender's own copy: while the sender has not
/// sealed a single chunk into its store (held back by a gate the test opens), the
/// partner gets the whole file from the original, checked chunk by chunk; the
/// sender seals its copy afterwards, and both are bit-exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_receives_a_file_before_the_sender_has_sealed_it() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (gate, alice, bob) = paired_with_gate(root.path(), None).await;
    let (path, bytes) = random_file(root.path(), "udhëtim.mp4", 12 * MIB + 5);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path.clone()), SendOptions::default())
        .await
        .unwrap();
    let NodeEvent::TransferDone { blake3, .. } = arrived(&bob, sent.id).await else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
    let history = alice.history().await;
    assert_eq!(
        history
            .iter()
            .find(|m| m.id == sent.id)
            .and_then(|m| m.attachment.as_ref())
            .map(|a| a.file),
        Some(FileState::Preparing),
        "the sender has not sealed it yet"
    );
    gate.open(1_000);
    alice
        .wait_history("sealed here", |h| {
            h.iter().any(|m| {
                m.id == sent.id
                    && m.attachment
                        .as_ref()
                        .is_some_and(|a| a.file == FileState::Ready)
            })
        })
        .await;
    // The sender's copy is its own: the original can go.
    std::fs::remove_file(&path).unwrap();
    for (device, name) in [(&alice, "udhëtim-a.mp4"), (&bob, "udhëtim-b.mp4")] {
        let saved = root.path().join(name);
        device.handle.save_file(sent.id, &saved).await.unwrap();
        assert_eq!(std::fs::read(&saved).unwrap(), bytes, "bit-exact");
    }
}

/// Deleted while it is still being served (and not yet sealed): serving and
/// sealing stop, the partner shows it gone, and neither keeps a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_while_it_is_being_sealed_stops_everywhere() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    // Served slowly, so the delete comes while Bob still lacks most of it.
    let (gate, alice, bob) = paired_with_gate(root.path(), Some(Duration::from_millis(250))).await;
    let (path, _) = random_file(root.path(), "gabim.bin", 8 * MIB);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    // Past the receiver's first checkpoint (half a second of chunks at this pace),
    // which reports progress.
    gate.open(5);
    bob.wait_event("part of the file", |e| {
        matches!(e, NodeEvent::Transfer { id, done, incoming: true, .. }
            if *id == sent.id && *done > 0)
    })
    .await;
    alice.handle.delete(sent.id).await.unwrap();
    for device in [&alice, &bob] {
        device
            .wait_history("the delete", |h| {
                h.iter().any(|m| m.id == sent.id && m.deleted)
            })
            .await;
    }
    gate.open(1_000);
    // Whatever was under way has stopped: neither keeps a file of it.
    let files_of = |device: &Device| {
        std::fs::read_dir(device.dir.join("files"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    for device in [&alice, &bob] {
        for _ in 0..100 {
            if files_of(device) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(files_of(device), 0, "{} keeps a file", device.name);
    }
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::TransferDone { id, .. } if *id == sent.id)),
        0
    );
}

/// Stopped while it seals a file it already announced, the sender seals it again
/// at its next start, and the partner gets the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_still_being_sealed_at_a_restart_is_sealed_again_and_arrives() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let (path, bytes) = random_file(root.path(), "long.mp4", 96 * MIB + 3);

    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    assert_eq!(sent.attachment.as_ref().unwrap().file, FileState::Preparing);
    let (name, dir, port) = (alice.name, alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    drop(alice);
    {
        let store = hearth_store::Store::open(&dir, None).unwrap();
        let status = store.blobs().status(sent.id.op());
        assert!(
            !status.unwrap().is_some_and(|s| s.complete),
            "stopped before the file was sealed"
        );
    }

    let _alice = Device::start(name, &dir, port).await;
    let NodeEvent::TransferDone { blake3, .. } = arrived(&bob, sent.id).await else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
}

/// A file announced, then changed on disk before the sender could seal it (it was
/// stopped in between): at its next start the sender finds it is not the file it
/// announced, and withdraws the message on both devices rather than sending another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_after_it_was_announced_is_withdrawn() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    // Served slowly, so Bob cannot have it all before Alice stops.
    let (_gate, alice, bob) = paired_with_gate(root.path(), Some(Duration::from_millis(500))).await;
    let (path, mut bytes) = random_file(root.path(), "projekt.bin", 6 * MIB);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path.clone()), SendOptions::default())
        .await
        .unwrap();
    // Announced (Bob starts on it), and not yet sealed: the gate holds it.
    bob.wait_event("the download starting", |e| {
        matches!(e, NodeEvent::Transfer { id, incoming: true, .. } if *id == sent.id)
            || matches!(e, NodeEvent::MessageChanged(m) if m.id == sent.id
                && m.attachment.as_ref().is_some_and(|a| matches!(a.file, FileState::Arriving { .. })))
    })
    .await;
    let (name, dir, port) = (alice.name, alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    drop(alice);
    // Edited in place, the same size.
    bytes[MIB] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let alice = Device::start(name, &dir, port).await;
    alice
        .wait_event("the file refused", |e| {
            matches!(e, NodeEvent::TransferFailed { id, reason: TransferFailure::NotSent(_) }
                if *id == sent.id)
        })
        .await;
    for device in [&alice, &bob] {
        device
            .wait_history("the message withdrawn", |h| {
                h.iter().any(|m| m.id == sent.id && m.deleted)
            })
            .await;
    }
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::TransferDone { id, .. } if *id == sent.id)),
        0
    );
}

/// The sender's disk fills as it seals its own copy of a file it sent: the message
/// is not withdrawn (the partner may well have the file already, served from the
/// original), the sender is told, and its own copy is sealed at its next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_sender_could_not_keep_is_not_withdrawn() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |config| {
        config.faults.fail_sealing_once = true;
    })
    .await;
    let (path, bytes) = random_file(root.path(), "kujtime-nga-vera.bin", 3 * MIB);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    alice
        .wait_event("the sealing failing", |e| {
            matches!(e, NodeEvent::TransferFailed { id, reason: TransferFailure::Unreadable(_) }
                if *id == sent.id)
        })
        .await;
    // A withdrawal would be written before this message, so Bob would have it by
    // the time this arrives.
    let after = alice
        .handle
        .send("did the photos come?", None)
        .await
        .unwrap();
    bob.wait_history("the next message", |h| h.iter().any(|m| m.id == after.id))
        .await;
    for device in [&alice, &bob] {
        let history = device.history().await;
        let file = history.iter().find(|m| m.id == sent.id).unwrap();
        assert!(!file.deleted, "{}: the file's message stays", device.name);
    }

    let (name, dir, port) = (alice.name, alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;
    drop(alice);
    let alice = Device::start(name, &dir, port).await;
    sealed_by_sender(&alice, sent.id).await;
    assert_eq!(alice.handle.open_file(sent.id).await.unwrap(), bytes);
    let NodeEvent::TransferDone { blake3, .. } = arrived(&bob, sent.id).await else {
        unreachable!()
    };
    assert_eq!(blake3, hex(blake3::hash(&bytes).as_bytes()));
    assert_eq!(bob.handle.open_file(sent.id).await.unwrap(), bytes);
}

/// Deleted is gone: a text with its edits, a photo with its thumbnail, and an opened
/// view-once photo leave nothing of what they said or showed in either profile, not
/// even sealed; the timeline keeps a tombstone ("deleted", "opened — gone").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_opened_view_once_leave_nothing_in_either_profile() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;

    let secret = alice
        .handle
        .send("meet me at the old bridge", None)
        .await
        .unwrap();
    alice
        .handle
        .edit(secret.id, "meet me at the old bridge at nine")
        .await
        .unwrap();
    let (path, _) = photo(root.path(), "bridge-at-night.png");
    let shared = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    let thumbnail = shared.attachment.clone().unwrap().thumbnail.unwrap().jpeg;
    let (path, _) = photo(root.path(), "only-for-your-eyes.png");
    let once = bob_opens_view_once(&alice, &bob, path).await;
    arrived(&bob, shared.id).await;
    bob.wait_history("the edit", |h| {
        h.iter()
            .any(|m| m.text.as_deref() == Some("meet me at the old bridge at nine"))
    })
    .await;

    alice.handle.delete(secret.id).await.unwrap();
    alice.handle.delete(shared.id).await.unwrap();
    for device in [&alice, &bob] {
        device
            .wait_history("the deletes", |h| {
                h.iter()
                    .filter(|m| m.id == secret.id || m.id == shared.id)
                    .all(|m| m.deleted)
            })
            .await;
        let history = device.history().await;
        let opened = history.iter().find(|m| m.id == once).unwrap();
        assert_eq!(
            opened.attachment.as_ref().map(|a| a.file),
            Some(FileState::Gone),
            "{}: the view-once says it is gone",
            device.name
        );
    }
    let needles: [(&str, &[u8]); 5] = [
        ("the text", b"old bridge"),
        ("the edit", b"at nine"),
        ("the photo's name", b"bridge-at-night"),
        (
            "the thumbnail",
            &thumbnail[thumbnail.len() / 2..thumbnail.len() / 2 + 64],
        ),
        ("the view-once's name", b"only-for-your-eyes"),
    ];
    for device in [alice, bob] {
        device.handle.shutdown().await;
        let store = hearth_store::Store::open(&device.dir, None).unwrap();
        for (what, needle) in needles {
            assert!(
                !store.holds_plaintext(needle).unwrap(),
                "{}: {what} is still held",
                device.name
            );
        }
        // The history still pages, with the tombstones in place.
        let page = store.page_before(None, 50).unwrap();
        assert_eq!(page.len(), 3, "{}", device.name);
        assert_eq!(blob_files(&device.dir), 0, "{}", device.name);
    }
}

/// Alice sends a view-once photo; Bob opens it. Returns its id.
async fn bob_opens_view_once(alice: &Device, bob: &Device, path: PathBuf) -> MessageId {
    let once = SendOptions {
        view_once: true,
        expires_after_open_secs: None,
    };
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), once)
        .await
        .unwrap();
    arrived(bob, sent.id).await;
    bob.handle.open_file(sent.id).await.unwrap();
    wait_gone(alice, sent.id, "the view-once gone").await;
    sent.id
}

/// A request that names the same chunk a thousand times gets it once: the partner's
/// device cannot make this one read and send a file a thousand times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_asked_for_many_times_is_sent_once() {
    use hearth_core::wire::{self, FileFrame};
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;
    let (path, _) = random_file(root.path(), "notes.bin", 100 * 1024);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    arrived(&bob, sent.id).await;
    let bob_dir = bob.dir.clone();
    bob.handle.shutdown().await;

    // Bob's identity in a raw node that asks what the test says.
    let identity = identity_of(&bob_dir);
    let alice_device = device_of(&alice).await;
    let (net, _events) = raw_node(identity, Some(alice_device));
    net.dial(Some(alice_device), vec![alice.addr()])
        .await
        .unwrap();
    let mut stream = net
        .open(alice_device, hearth_net::Protocol::File)
        .await
        .unwrap();
    let ask = FileFrame::GetChunks {
        id: sent.id.op(),
        chunks: vec![0; 1000],
    };
    stream.send(&wire::encode(&ask)).await.unwrap();
    let mut chunks = 0;
    loop {
        let bytes = tokio::time::timeout(std::time::Duration::from_secs(10), stream.recv())
            .await
            .expect("Alice answers")
            .unwrap();
        match wire::decode_file(&bytes).unwrap() {
            FileFrame::Chunk { index, .. } => {
                assert_eq!(index, 0);
                chunks += 1;
            }
            FileFrame::End => break,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(chunks, 1);
    net.shutdown().await;
}

/// Saving a copy writes a new file readable by the user only, and never writes
/// through a symlink someone planted where the copy goes or beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_copy_is_private_and_follows_no_symlink() {
    use std::os::unix::fs::PermissionsExt;
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with(root.path(), |_| {}).await;
    let (path, bytes) = random_file(root.path(), "letter.bin", 50 * 1024);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    arrived(&bob, sent.id).await;

    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, out.join("copy.bin")).unwrap();
    std::os::unix::fs::symlink(&victim, out.join(".copy.bin.hearth-part")).unwrap();
    bob.handle
        .save_file(sent.id, out.join("copy.bin"))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let meta = std::fs::symlink_metadata(out.join("copy.bin")).unwrap();
    assert!(meta.file_type().is_file(), "the copy is a file of its own");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(out.join("copy.bin")).unwrap(), bytes);
}

/// A partner's device that stops sending mid-file does not hold the download (and
/// one of the two download slots) for ever: it gives up for now, says why, and tries
/// again later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_from_a_device_that_stops_answering_gives_up_for_now() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with_both(
        root.path(),
        |alice| alice.faults.serve_delay = Some(std::time::Duration::from_secs(3600)),
        |bob| bob.faults.frame_timeout = Some(std::time::Duration::from_secs(2)),
    )
    .await;
    let (path, _) = random_file(root.path(), "stuck.bin", 2 * MIB);
    let sent = alice
        .handle
        .send_file(FileSource::Path(path), SendOptions::default())
        .await
        .unwrap();
    let NodeEvent::TransferFailed { reason, .. } = bob
        .wait_event(
            "the download giving up",
            |e| matches!(e, NodeEvent::TransferFailed { id, .. } if *id == sent.id),
        )
        .await
    else {
        unreachable!()
    };
    assert!(
        matches!(reason, hearth_node::TransferFailure::Interrupted(_)),
        "{reason:?}"
    );
}

/// Room on the disk is counted across every file on its way: two files that each
/// fit the free space alone, but not together, leave the second waiting, paused,
/// with the sizes said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_space_is_counted_across_files_on_their_way() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair_with_both(
        root.path(),
        |alice| alice.faults.serve_delay = Some(std::time::Duration::from_secs(3600)),
        |bob| bob.faults.free_space = Some(67 * MIB as u64),
    )
    .await;
    let mut sent = Vec::new();
    for name in ["one.bin", "two.bin"] {
        let (path, _) = random_file(root.path(), name, 2 * MIB);
        let message = alice
            .handle
            .send_file(FileSource::Path(path), SendOptions::default())
            .await
            .unwrap();
        // One after the other: the first is on its way before the second is sent
        // (files are sealed in parallel, so their order is otherwise open).
        bob.wait_event("the file on its way", |e| {
            matches!(e, NodeEvent::MessageChanged(m) if m.id == message.id
                && m.attachment.as_ref().is_some_and(|a| a.file != FileState::Preparing))
        })
        .await;
        sent.push(message.id);
    }
    let NodeEvent::TransferFailed { reason, .. } = bob
        .wait_event(
            "no room for the second",
            |e| matches!(e, NodeEvent::TransferFailed { id, .. } if *id == sent[1]),
        )
        .await
    else {
        unreachable!()
    };
    assert!(
        matches!(
            reason,
            hearth_node::TransferFailure::NoDiskSpace { needed, free }
                if needed == (2 + 2 + 64) * MIB as u64 && free == 67 * MIB as u64
        ),
        "{reason:?}"
    );
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::TransferFailed { id, .. } if *id == sent[0])),
        0,
        "the first fits"
    );
}
