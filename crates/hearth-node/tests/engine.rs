//! Two (or three) engines in one process over loopback, as two partners' devices:
//! pairing, chat, delivery states, offline-first sync, and what strangers and
//! misbehaving peers get.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use hearth_core::{DeviceId, Lamport, Op, OpBody, OpId};
use hearth_node::{
    Author, Delivery, MessageView, Node, NodeConfig, NodeError, NodeEvent, PairingFailure,
};
use rand::Rng;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_by_invite_shows_the_same_safety_words() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = set_up_pair(root.path()).await;

    let invite = alice.handle.invite().await.unwrap();
    assert!(invite.code.starts_with("hearth:"));
    let bob_side = bob.handle.pair(invite.code).await.unwrap();
    let NodeEvent::Paired(alice_side) = alice
        .wait_event("paired", |e| matches!(e, NodeEvent::Paired(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(bob_side.safety_words, alice_side.safety_words);
    assert_eq!(bob_side.safety_words.len(), 5);
    assert_eq!(bob_side.partner.name, "Alice");
    assert_eq!(alice_side.partner.name, "Bob");
    assert_eq!(alice_side.partner.language, "sq");

    let status = alice.handle.status().await.unwrap();
    assert!(status.paired);
    assert_eq!(status.partner.unwrap().name, "Bob");
    // A paired device takes no more pairings.
    assert!(alice.handle.invite().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_by_nearby_code() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    assert_eq!(code.len(), 6);
    bob.handle.dial(alice.addr()).await.unwrap();
    // Give the connection a moment; pairing looks at connected devices.
    bob.wait_event("listening", |e| matches!(e, NodeEvent::Listening(_)))
        .await;
    let mut result = bob.handle.pair(code.clone()).await;
    for _ in 0..50 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = bob.handle.pair(code.clone()).await;
    }
    let bob_side = result.unwrap();
    let NodeEvent::Paired(alice_side) = alice
        .wait_event("paired", |e| matches!(e, NodeEvent::Paired(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(bob_side.safety_words, alice_side.safety_words);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_fails_on_both_sides_and_three_kill_the_code() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    bob.handle.dial(alice.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let err = bob.handle.pair(wrong.clone()).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Pairing(PairingFailure::CodeMismatch)),
        "{err}"
    );
    alice
        .wait_event("a failed attempt", |e| {
            matches!(
                e,
                NodeEvent::PairingFailed(PairingFailure::WrongCodeTried { tries_left: 2 })
            )
        })
        .await;
    for _ in 0..2 {
        assert!(bob.handle.pair(wrong.clone()).await.is_err());
    }
    alice
        .wait_event("the code dying", |e| {
            matches!(
                e,
                NodeEvent::PairingFailed(PairingFailure::WrongCodeTried { tries_left: 0 })
            )
        })
        .await;
    // Even the right code no longer works.
    let err = bob.handle.pair(code).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Pairing(PairingFailure::NotPairing)),
        "{err}"
    );
    assert!(!alice.handle.status().await.unwrap().paired);
    assert!(!bob.handle.status().await.unwrap().paired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invite_does_not_pair() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let alice = Device::start_with("alice", &root.path().join("alice"), free_port(), |c| {
        c.invite_ttl = Duration::from_millis(300);
    })
    .await;
    let bob = Device::start("bob", &root.path().join("bob"), free_port()).await;
    alice.init("Alice", "en").await;
    bob.init("Bob", "en").await;
    let invite = alice.handle.invite().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = bob.handle.pair(invite.code).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Pairing(PairingFailure::Expired)),
        "{err}"
    );
    assert!(!alice.handle.status().await.unwrap().paired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_edits_reactions_and_delivery_states() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;

    let sent = bob
        .handle
        .send("Mirëmëngjes, zemër! ☀️ çaj?", None)
        .await
        .unwrap();
    assert_eq!(sent.author, Author::Me);
    let NodeEvent::Message(got) = alice
        .wait_event(
            "bob's message",
            |e| matches!(e, NodeEvent::Message(m) if m.id == sent.id),
        )
        .await
    else {
        unreachable!()
    };
    assert_eq!(got.author, Author::Partner);
    assert_eq!(got.text.as_deref(), Some("Mirëmëngjes, zemër! ☀️ çaj?"));
    assert_eq!(got.delivery, None);
    bob.wait_event(
        "delivered",
        |e| matches!(e, NodeEvent::Delivery { id, state: Delivery::Delivered } if *id == sent.id),
    )
    .await;

    alice.handle.read(sent.id).await.unwrap();
    bob.wait_event(
        "read",
        |e| matches!(e, NodeEvent::Delivery { id, state: Delivery::Read } if *id == sent.id),
    )
    .await;

    let reply = alice.handle.send("Po! ❤️", Some(sent.id)).await.unwrap();
    alice.handle.react(sent.id, "😂").await.unwrap();
    bob.handle
        .edit(sent.id, "Mirëmëngjes, zemër!")
        .await
        .unwrap();
    assert!(
        matches!(
            alice.handle.edit(sent.id, "forged").await,
            Err(NodeError::NotYours)
        ),
        "only the author edits"
    );

    for device in [&alice, &bob] {
        let history = device
            .wait_history("converged", |h| {
                h.len() == 2 && h[0].edited && !h[0].reactions.is_empty()
            })
            .await;
        assert_eq!(history[0].text.as_deref(), Some("Mirëmëngjes, zemër!"));
        assert_eq!(history[0].reactions[0].emoji, "😂");
        assert_eq!(history[1].reply_to, Some(sent.id));
        assert_eq!(history[1].id, reply.id);
    }
    assert_eq!(bob.history().await[0].delivery, Some(Delivery::Read));

    bob.handle.delete(sent.id).await.unwrap();
    alice
        .wait_history("deleted", |h| h[0].deleted && h[0].text.is_none())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_written_offline_arrive_once_in_order() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice
        .wait_event("bob offline", |e| {
            matches!(e, NodeEvent::Presence { online: false })
        })
        .await;

    let mut sent = Vec::new();
    for i in 0..500 {
        let message = alice
            .handle
            .send(format!("message {i}"), None)
            .await
            .unwrap();
        assert_eq!(message.delivery, Some(Delivery::Queued));
        sent.push(message.id);
    }

    let bob = Device::start("bob", &bob_dir, bob_port).await;
    let history = bob.wait_history("has all 500", |h| h.len() >= 500).await;
    assert_eq!(history.len(), 500, "exactly once");
    let expected: Vec<String> = (0..500).map(|i| format!("message {i}")).collect();
    assert_eq!(texts(&history), expected, "in order");
    // Events travel a channel behind the store: wait for the 500th, then make sure
    // no message was announced twice.
    bob.wait_event(
        "the 500th message",
        |e| matches!(e, NodeEvent::Message(m) if m.text.as_deref() == Some("message 499")),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        bob.count_events(|e| matches!(e, NodeEvent::Message(_))),
        500,
        "bob was told of each message once"
    );

    alice
        .wait_history("all delivered", |h| {
            h.iter().all(|m| m.delivery == Some(Delivery::Delivered))
        })
        .await;
    for id in &sent {
        assert!(
            alice.count_events(|e| {
                matches!(e, NodeEvent::Delivery { id: d, state: Delivery::Delivered } if d == id)
            }) >= 1,
            "alice saw {id} delivered"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_write_while_apart_and_converge() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    alice.handle.send("before", None).await.unwrap();
    bob.wait_history("has before", |h| h.len() == 1).await;

    bob.handle.shutdown().await;
    for i in 0..5 {
        alice
            .handle
            .send(format!("alice while apart {i}"), None)
            .await
            .unwrap();
    }
    let (alice_dir, alice_port) = (alice.dir.clone(), alice.port);
    alice.handle.shutdown().await;

    let bob = Device::start("bob", &bob.dir, bob.port).await;
    for i in 0..5 {
        bob.handle
            .send(format!("bob while apart {i}"), None)
            .await
            .unwrap();
    }
    let alice = Device::start("alice", &alice_dir, alice_port).await;

    let alice_history = alice.wait_history("has all 11", |h| h.len() == 11).await;
    let bob_history = bob.wait_history("has all 11", |h| h.len() == 11).await;
    let ids = |h: &[MessageView]| h.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&alice_history),
        ids(&bob_history),
        "same timeline on both"
    );
    assert_eq!(texts(&alice_history), texts(&bob_history));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_gets_nothing() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    alice.handle.send("just for bob", None).await.unwrap();
    bob.wait_history("delivered", |h| h.len() == 1).await;
    // Settle the delivery state first, so "unchanged" compares like with like.
    let before = alice
        .wait_history("its ack", |h| h[0].delivery == Some(Delivery::Delivered))
        .await;

    let carol = Device::start("carol", &root.path().join("carol"), free_port()).await;
    carol.init("Carol", "en").await;
    carol.handle.dial(alice.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = carol.handle.pair("123456").await.unwrap_err();
    assert!(
        matches!(err, NodeError::Pairing(PairingFailure::NotPairing)),
        "{err}"
    );
    // An invite Alice made before pairing is worthless to Carol too.
    assert!(carol.history().await.is_empty());

    // Carol's raw node speaking Hearth's protocols directly.
    let (net, _events) = raw_node(hearth_net::generate_identity(), None);
    let alice_status = alice.handle.status().await.unwrap();
    let alice_device = hearth_net::device_from_peer_text(&alice_status.peer_id).unwrap();
    net.dial(Some(alice_device), vec![alice.addr()])
        .await
        .unwrap();
    for protocol in [hearth_net::Protocol::Sync, hearth_net::Protocol::Pair] {
        let opened =
            tokio::time::timeout(Duration::from_secs(10), net.open(alice_device, protocol)).await;
        // Either the stream never opens, or it opens and nothing ever comes back.
        if let Ok(Ok(mut stream)) = opened {
            let _ = stream.send(b"hello?").await;
            assert!(
                stream.recv().await.is_err(),
                "{protocol:?}: the stranger got an answer"
            );
        }
    }
    assert_eq!(alice.history().await, before, "alice's store is unchanged");
    assert!(alice.handle.status().await.unwrap().paired);
    alice.handle.send("still working", None).await.unwrap();
    bob.wait_history("still syncing", |h| h.len() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_partner_is_dropped_and_nothing_changes() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    bob.handle.send("hello", None).await.unwrap();
    alice.wait_history("has hello", |h| h.len() == 1).await;
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    let before = alice.history().await;

    // Bob's identity, in a raw node that sends whatever the test says.
    let identity = identity_of(&bob_dir);
    let alice_device = device_of(&alice).await;
    let attacks: [&[u8]; 3] = [
        // A frame that is not a sync frame.
        &[0, 0, 0, 5, 1, 0xff, 0xff, 0xff, 0xff],
        // A frame announcing more than the 4 MiB limit.
        &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
        // A well-formed frame with ops Alice never wrote claiming her as author.
        &[],
    ];
    for (i, attack) in attacks.iter().enumerate() {
        let (net, mut events) = raw_node(identity, Some(alice_device));
        net.dial(Some(alice_device), vec![alice.addr()])
            .await
            .unwrap();
        let stream = net
            .open(alice_device, hearth_net::Protocol::Sync)
            .await
            .unwrap();
        let (_reader, mut writer) = stream.split();
        let bytes: Vec<u8> = if attack.is_empty() {
            let forged = hearth_core::Op {
                id: hearth_core::OpId {
                    author: alice_device,
                    seq: 99,
                },
                lamport: hearth_core::Lamport(1),
                wall_ms: 0,
                body: hearth_core::OpBody::Text {
                    text: "forged".into(),
                    reply_to: None,
                },
            };
            let frame = hearth_core::wire::encode_frame(&hearth_core::wire::SyncFrame::Ops {
                ops: vec![forged],
            });
            let mut bytes = (frame.len() as u32).to_be_bytes().to_vec();
            bytes.extend(frame);
            bytes
        } else {
            attack.to_vec()
        };
        writer.send_raw(&bytes).await.unwrap();
        // Alice drops the connection.
        let dropped = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = events.recv().await {
                if matches!(event, hearth_net::NetEvent::Disconnected { .. }) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(dropped, Ok(true), "attack {i}: alice kept the connection");
        net.shutdown().await;
        assert_eq!(
            alice.history().await,
            before,
            "attack {i}: alice's store changed"
        );
    }

    // Alice is still running, and the real Bob still syncs.
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    alice.handle.send("still here", None).await.unwrap();
    bob.wait_history("synced", |h| h.len() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_device_listens_where_it_did() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("alice");
    let start = || async {
        let mut config = NodeConfig::new(&dir);
        config.network.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        config.network.mdns = false;
        let (handle, _events) = Node::start(config).await.unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let listen = handle.status().await.unwrap().listen;
            if let Some(addr) = listen.first() {
                return (handle, addr.clone());
            }
            assert!(tokio::time::Instant::now() < deadline, "never listened");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (first, addr) = start().await;
    assert!(!addr.contains("/tcp/0/"), "a real port: {addr}");
    first.shutdown().await;
    let (second, again) = start().await;
    assert_eq!(
        again, addr,
        "the partner's remembered address still reaches it"
    );
    second.shutdown().await;

    // Someone else took the port meanwhile: the device still listens, elsewhere.
    let port: u16 = addr.split('/').nth(4).unwrap().parse().unwrap();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (third, elsewhere) = start().await;
    assert_ne!(elsewhere, addr);
    third.shutdown().await;
    drop(squatter);
}

/// Identify tells no peer where a device listens (relays would learn its LAN and
/// VPN addresses); the partner hears it over sync instead. Bob moves to a new port
/// and reaches Alice. Then both restart, Alice on a port Bob has never heard of, so
/// only she can dial: she finds Bob where he told her he is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_that_moved_is_found_where_it_said_it_is() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    bob.handle.shutdown().await;
    let bob = Device::start("bob", &bob.dir, free_port()).await;
    bob.handle
        .send("Erdha në një port tjetër", None)
        .await
        .unwrap();
    // Bob's whereabouts come first in his session, so with his message Alice has
    // them too.
    alice
        .wait_history("Bob's message from his new port", |h| {
            texts(h).contains(&"Erdha në një port tjetër".to_string())
        })
        .await;
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;

    let bob = Device::start("bob", &bob.dir, bob.port).await;
    let alice = Device::start("alice", &alice.dir, free_port()).await;
    bob.handle.send("A më gjete?", None).await.unwrap();
    alice
        .wait_history("Bob's message, once Alice dialled him", |h| {
            texts(h).contains(&"A më gjete?".to_string())
        })
        .await;
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
}

/// The partner's device writes ops no honest device writes, into its own log, and
/// its real engine sends them: reactions by the thousand (many not emoji), ops naming
/// messages of devices that do not exist, a clock at u64::MAX, a read marker for
/// every message Alice will ever write. Alice keeps them (acknowledged, never sent
/// again) but none takes effect: her history pages, her device knows two devices,
/// her next message is not shown as read, and the partner's next message arrives
/// promptly, on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_device_out_of_bounds_changes_nothing_and_sync_goes_on() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let hello = bob.handle.send("hello", None).await.unwrap();
    alice.handle.send("hi", None).await.unwrap();
    alice.wait_history("both", |h| h.len() == 2).await;
    bob.wait_history("both", |h| h.len() == 2).await;
    let alice_device = device_of(&alice).await;
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;

    // Into Bob's own log, as a compromised device would write.
    let ignored = {
        let mut store = hearth_store::Store::open(&bob_dir, None).unwrap();
        let identity: [u8; 32] = store.setting("identity").unwrap().unwrap();
        let me = hearth_net::device_id_of(&identity).unwrap();
        let mut seq = store.held(me);
        let mut lamport = store.lamport().0;
        let mut rng = rand::thread_rng();
        let mut ops = Vec::new();
        let mut op = |lamport: u64, body: OpBody| {
            seq += 1;
            Op {
                id: OpId { author: me, seq },
                lamport: Lamport(lamport),
                wall_ms: 1_795_000_000_000,
                body,
            }
        };
        let target = hello.id.op();
        for i in 0..20_000u32 {
            lamport += 1;
            let emoji = if i % 2 == 0 {
                char::from_u32(0x1F300 + i % 700).unwrap().to_string()
            } else {
                // 60 bytes that are no emoji: each would grow the message's state.
                format!("{i:060}")
            };
            ops.push(op(lamport, OpBody::ReactionAdd { target, emoji }));
        }
        for _ in 0..300 {
            lamport += 1;
            let stranger = OpId {
                author: DeviceId(rng.r#gen()),
                seq: rng.gen_range(1..1000),
            };
            let body = match rng.gen_range(0..4) {
                0 => OpBody::ReactionAdd {
                    target: stranger,
                    emoji: "❤️".into(),
                },
                1 => OpBody::Delete { target: stranger },
                2 => OpBody::ReadMarker { up_to: stranger },
                _ => OpBody::Text {
                    text: "re".into(),
                    reply_to: Some(stranger),
                },
            };
            ops.push(op(lamport, body));
        }
        ops.push(op(
            u64::MAX,
            OpBody::Text {
                text: "from the end of time".into(),
                reply_to: None,
            },
        ));
        lamport += 1;
        ops.push(op(
            lamport,
            OpBody::ReadMarker {
                up_to: OpId {
                    author: alice_device,
                    seq: u64::MAX,
                },
            },
        ));
        let applied = store.apply_remote(&ops).unwrap();
        store.flush().unwrap();
        applied.ignored.len()
    };
    assert!(ignored >= 10_000, "{ignored} ignored");

    let offline_before = alice.count_events(|e| matches!(e, NodeEvent::Presence { online: false }));
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.handle.dial(alice.addr()).await.unwrap();
    let sent = bob.handle.send("still here", None).await.unwrap();
    let arrived = tokio::time::Instant::now();
    alice
        .wait_history("still here", |h| h.iter().any(|m| m.id == sent.id))
        .await;
    eprintln!("the next message arrived after {:?}", arrived.elapsed());

    for device in [&alice, &bob] {
        let history = device.history().await;
        let mut shown = texts(&history);
        shown.sort();
        assert_eq!(shown, ["hello", "hi", "still here"], "{}", device.name);
        let on_hello = &history
            .iter()
            .find(|m| m.id == hello.id)
            .expect("hello is in the history")
            .reactions;
        assert!(
            on_hello.len() <= hearth_core::limits::MAX_REACTIONS_PER_PERSON,
            "{}: {} reactions",
            device.name,
            on_hello.len()
        );
        assert!(
            on_hello
                .iter()
                .all(|r| hearth_core::is_reaction_emoji(&r.emoji))
        );
    }
    // Alice's next message is delivered, not read: the marker for u64::MAX did nothing.
    let after = alice.handle.send("after the storm", None).await.unwrap();
    alice
        .wait_event("delivered", |e| {
            matches!(e, NodeEvent::Delivery { id, state: Delivery::Delivered } if *id == after.id)
        })
        .await;
    assert_ne!(
        alice.history().await.last().unwrap().delivery,
        Some(Delivery::Read)
    );
    // No disconnect loop: the hostile ops were acknowledged and not sent again.
    assert_eq!(
        alice.count_events(|e| matches!(e, NodeEvent::Presence { online: false })),
        offline_before
    );
    let alice_dir = alice.dir.clone();
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    let store = hearth_store::Store::open(&alice_dir, None).unwrap();
    assert_eq!(store.held_all().len(), 2, "Alice's store knows two devices");
    assert!(store.lamport().0 < 1 << 33, "{:?}", store.lamport());
}

/// A stranger that opens pairing attempts and drops them, or opens one and stalls,
/// neither spends the code's tries nor keeps the real partner out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_stranger_neither_burns_tries_nor_blocks_a_real_pairing() {
    use hearth_core::wire::{self, PairFrame};
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    let alice_device = device_of(&alice).await;

    let stranger_key = hearth_net::generate_identity();
    let stranger_device = hearth_net::device_id_of(&stranger_key).unwrap();
    let (stranger, _events) = raw_node(stranger_key, None);
    stranger
        .dial(Some(alice_device), vec![alice.addr()])
        .await
        .unwrap();
    let static_key = hearth_crypto::StaticKeypair::generate().unwrap();
    let (me, them) = (
        hearth_net::peer_id_bytes(stranger_device).unwrap(),
        hearth_net::peer_id_bytes(alice_device).unwrap(),
    );
    let start = || {
        let (_, first) = hearth_crypto::Pairing::initiator(hearth_crypto::PairingInput {
            code: b"000000",
            initiator: &me,
            responder: &them,
            local_static: &static_key,
            profile: Vec::new(),
        })
        .unwrap();
        wire::encode(&PairFrame::Start(first))
    };
    // Five attempts opened, answered, and dropped before any guess.
    for _ in 0..5 {
        let mut stream = stranger
            .open(alice_device, hearth_net::Protocol::Pair)
            .await
            .unwrap();
        stream.send(&start()).await.unwrap();
        let _ = stream.recv().await;
        drop(stream);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One more, held open without a word.
    let mut stalled = stranger
        .open(alice_device, hearth_net::Protocol::Pair)
        .await
        .unwrap();
    stalled.send(&start()).await.unwrap();
    let _ = stalled.recv().await;

    // Bob, with the right code, still pairs.
    bob.handle.dial(alice.addr()).await.unwrap();
    let mut result = bob.handle.pair(code.clone()).await;
    for _ in 0..50 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = bob.handle.pair(code.clone()).await;
    }
    let paired = result.unwrap();
    assert_eq!(paired.partner.name, "Alice");
    assert_eq!(
        alice.count_events(|e| matches!(e, NodeEvent::PairingFailed(_))),
        0,
        "no try was spent and nothing alarming was shown"
    );
    drop(stalled);
    stranger.shutdown().await;
}

/// A stranger device that dials Alice and runs the pairing handshake by hand.
struct Stranger {
    net: hearth_net::Net,
    _events: tokio::sync::mpsc::Receiver<hearth_net::NetEvent>,
    alice: DeviceId,
    me: Vec<u8>,
    them: Vec<u8>,
    static_key: hearth_crypto::StaticKeypair,
}

impl Stranger {
    async fn dial(alice: &Device) -> Stranger {
        let alice_device = device_of(alice).await;
        let key = hearth_net::generate_identity();
        let device = hearth_net::device_id_of(&key).unwrap();
        let (net, events) = raw_node(key, None);
        net.dial(Some(alice_device), vec![alice.addr()])
            .await
            .unwrap();
        Stranger {
            net,
            _events: events,
            alice: alice_device,
            me: hearth_net::peer_id_bytes(device).unwrap(),
            them: hearth_net::peer_id_bytes(alice_device).unwrap(),
            static_key: hearth_crypto::StaticKeypair::generate().unwrap(),
        }
    }

    /// Starts a handshake with `code` and returns Alice's first answer. A stream
    /// reset before any answer (libp2p-stream resets a stream that arrives in the
    /// same poll as another) is what a real initiator retries, on a new stream.
    async fn start(
        &self,
        code: &[u8],
    ) -> (
        hearth_crypto::Pairing,
        hearth_net::FramedStream,
        hearth_core::wire::PairFrame,
    ) {
        use hearth_core::wire::{self, PairFrame};
        for _ in 0..20 {
            let (pairing, first) = hearth_crypto::Pairing::initiator(hearth_crypto::PairingInput {
                code,
                initiator: &self.me,
                responder: &self.them,
                local_static: &self.static_key,
                profile: Vec::new(),
            })
            .unwrap();
            let Ok(mut stream) = self.net.open(self.alice, hearth_net::Protocol::Pair).await else {
                continue;
            };
            if stream
                .send(&wire::encode(&PairFrame::Start(first)))
                .await
                .is_err()
            {
                continue;
            }
            if let Ok(Ok(bytes)) = tokio::time::timeout(Duration::from_secs(5), stream.recv()).await
            {
                return (pairing, stream, wire::decode_pair(&bytes).unwrap());
            }
        }
        panic!("Alice never answered a start");
    }
}

/// Attempts are answered side by side: four strangers stalling in the middle of a
/// handshake at once are each answered, none is told "busy", and Bob, with the
/// right code, pairs while they stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_stalling_at_once_hold_nobody_up() {
    use hearth_core::wire::PairFrame;
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let stranger = Stranger::dial(&alice).await;
        let (_, stream, answer) = stranger.start(b"000000").await;
        assert!(
            matches!(answer, PairFrame::Step(_)),
            "a stranger was not answered: {answer:?}"
        );
        stalled.push((stranger, stream));
    }

    bob.handle.dial(alice.addr()).await.unwrap();
    let mut result = bob.handle.pair(code.clone()).await;
    for _ in 0..20 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = bob.handle.pair(code.clone()).await;
    }
    assert_eq!(result.unwrap().partner.name, "Alice");
    assert_eq!(
        alice.count_events(|e| matches!(e, NodeEvent::PairingFailed(_))),
        0,
        "no try was spent and nothing alarming was shown"
    );
    for (stranger, stream) in stalled {
        drop(stream);
        stranger.net.shutdown().await;
    }
}

/// Guesses that arrive at once share the code's three tries: five strangers send a
/// wrong guess together, and again whenever they are told the device is busy (one
/// guess is read at a time); three are told it was wrong and two are refused, and
/// then even the right code is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_at_once_get_three_tries_in_all() {
    use hearth_core::wire::{self, PairFrame, PairRefusal};
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, _bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let mut strangers = Vec::new();
    for _ in 0..5 {
        strangers.push(Stranger::dial(&alice).await);
    }
    // Runs the handshake up to the guess; the guess, once every stranger is ready.
    let ready = tokio::sync::Barrier::new(strangers.len());
    let answers = futures::future::join_all(strangers.iter().map(|stranger| {
        let (ready, wrong) = (&ready, wrong.clone());
        async move {
            let mut first_round = true;
            for _ in 0..100 {
                let (mut pairing, mut stream, answer) = stranger.start(wrong.as_bytes()).await;
                let PairFrame::Step(msg) = answer else {
                    if first_round {
                        ready.wait().await;
                    }
                    return answer;
                };
                let hearth_crypto::Progress::Send(next) = pairing.receive(&msg).unwrap() else {
                    panic!("the handshake ended early");
                };
                stream
                    .send(&wire::encode(&PairFrame::Step(next)))
                    .await
                    .unwrap();
                let bytes = stream.recv().await.unwrap();
                let PairFrame::Step(msg) = wire::decode_pair(&bytes).unwrap() else {
                    panic!("no second step");
                };
                let hearth_crypto::Progress::Send(guess) = pairing.receive(&msg).unwrap() else {
                    panic!("the handshake ended early");
                };
                if std::mem::take(&mut first_round) {
                    ready.wait().await;
                }
                stream
                    .send(&wire::encode(&PairFrame::Step(guess)))
                    .await
                    .unwrap();
                let bytes = tokio::time::timeout(Duration::from_secs(10), stream.recv())
                    .await
                    .expect("Alice answers every guess")
                    .expect("Alice answers before closing");
                match wire::decode_pair(&bytes).unwrap() {
                    PairFrame::Unavailable(PairRefusal::Busy) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    answer => return answer,
                }
            }
            panic!("Alice stayed busy");
        }
    }))
    .await;
    let wrong_code = answers
        .iter()
        .filter(|a| matches!(a, PairFrame::Failed))
        .count();
    // Refused for want of tries, or (once the third wrong guess has been counted
    // and the code dropped) because no code is on offer any more.
    let refused = answers
        .iter()
        .filter(|a| {
            matches!(
                a,
                PairFrame::Unavailable(PairRefusal::TooManyTries | PairRefusal::NotPairing)
            )
        })
        .count();
    assert_eq!((wrong_code, refused), (3, 2), "{answers:?}");
    alice
        .wait_event("the code dying", |e| {
            matches!(
                e,
                NodeEvent::PairingFailed(PairingFailure::WrongCodeTried { tries_left: 0 })
            )
        })
        .await;
    let late = Stranger::dial(&alice).await;
    let (_, _, answer) = late.start(code.as_bytes()).await;
    assert!(
        matches!(answer, PairFrame::Unavailable(_)),
        "even the right code is refused now: {answer:?}"
    );
    for stranger in strangers {
        stranger.net.shutdown().await;
    }
    late.net.shutdown().await;
}

/// "The words differ" on one device ends the pairing on both: each forgets the
/// partner and everything shared, and they can pair again from nothing. A device
/// that was away when it happened hears of it when they next meet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_words_differ_unpairs_both_and_a_new_pairing_works() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    alice.handle.send("a je aty?", None).await.unwrap();
    bob.wait_history("the first message", |h| h.len() == 1)
        .await;

    // Bob is away when Alice says the words differ.
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice.handle.reject_pairing().await.unwrap();
    alice
        .wait_event("unpaired here", |e| {
            matches!(e, NodeEvent::Unpaired { by_partner: false })
        })
        .await;
    let status = alice.handle.status().await.unwrap();
    assert!(!status.paired);
    assert!(alice.history().await.is_empty(), "Alice forgot the history");

    // Bob comes back, still paired as far as he knows, and is told.
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.wait_event("unpaired by the partner", |e| {
        matches!(e, NodeEvent::Unpaired { by_partner: true })
    })
    .await;
    assert!(!bob.handle.status().await.unwrap().paired);
    assert!(bob.history().await.is_empty(), "Bob forgot the history");

    // They pair again, and start from nothing.
    let invite = alice.handle.invite().await.unwrap();
    let again = bob.handle.pair(invite.code).await.unwrap();
    alice
        .wait_event("paired again", |e| matches!(e, NodeEvent::Paired(_)))
        .await;
    assert_eq!(again.partner.name, "Alice");
    alice.handle.send("përsëri", None).await.unwrap();
    let history = bob.wait_history("the new message", |h| !h.is_empty()).await;
    assert_eq!(texts(&history), ["përsëri"]);
    // Both stay paired: the notice was for the first pairing, and is spent.
    assert!(bob.handle.status().await.unwrap().paired);
    assert!(alice.handle.status().await.unwrap().paired);
}

/// A notice that the pairing ended counts only once the other device has acted on
/// it: a device that read it and went away before acting (here a stand-in with
/// Bob's identity that reads it and answers nothing) is told again when it comes
/// back, and once it is paired with nobody its answer ends the telling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_a_pairing_is_told_until_the_other_device_acted_on_it() {
    use hearth_core::wire::{self, SyncFrame};
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    let alice_device = device_of(&alice).await;
    let (bob_dir, bob_port) = (bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    let bob_identity: [u8; 32] = hearth_store::Store::open(&bob_dir, None)
        .unwrap()
        .setting("identity")
        .unwrap()
        .unwrap();

    alice.handle.reject_pairing().await.unwrap();
    assert!(alice.handle.status().await.unwrap().telling_former_partner);

    // Bob's device reads the notice and is gone before acting on it.
    let (stand_in, mut events) = raw_node(bob_identity, Some(alice_device));
    stand_in
        .dial(Some(alice_device), vec![alice.addr()])
        .await
        .unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(hearth_net::NetEvent::Incoming {
                protocol: hearth_net::Protocol::Sync,
                mut stream,
                ..
            }) = events.recv().await
            {
                let bytes = stream.recv().await.unwrap();
                return wire::decode_frame(&bytes).unwrap();
            }
        }
    })
    .await
    .expect("Alice tells Bob's device");
    assert!(matches!(notice, SyncFrame::Unpair { .. }), "{notice:?}");
    stand_in.shutdown().await;
    drop(events);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        alice.handle.status().await.unwrap().telling_former_partner,
        "a notice read but not acted on is not delivered"
    );

    // Bob's device comes back, still paired as far as it knows, and is told.
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.wait_event("unpaired by the partner", |e| {
        matches!(e, NodeEvent::Unpaired { by_partner: true })
    })
    .await;
    assert!(!bob.handle.status().await.unwrap().paired);

    // Paired with nobody now, it answers the next notice, and the telling ends.
    for _ in 0..100 {
        if !alice.handle.status().await.unwrap().telling_former_partner {
            break;
        }
        let _ = bob.handle.dial(alice.addr()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !alice.handle.status().await.unwrap().telling_former_partner,
        "Bob's answer was heard"
    );
}

/// A backup older than the last messages: Alice restores it on a new computer,
/// and her own messages written after the backup come back from Bob's device, so
/// she writes again, numbered after them, and Bob gets what she writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_device_gets_back_what_it_wrote_after_the_backup() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    alice.handle.send("para kopjes", None).await.unwrap();
    bob.wait_history("the first", |h| h.len() == 1).await;
    let backup = root.path().join("alice.hearth");
    alice
        .handle
        .backup(&backup, "një verë e gjatë")
        .await
        .unwrap();
    for text in ["pas kopjes 1", "pas kopjes 2"] {
        alice.handle.send(text, None).await.unwrap();
    }
    bob.wait_history("all three", |h| h.len() == 3).await;
    let port = alice.port;
    alice.handle.shutdown().await;

    let new_dir = root.path().join("alice-new");
    hearth_node::restore(&backup, "një verë e gjatë", &new_dir, None, |_, _| {}).unwrap();
    let alice = Device::start("alice", &new_dir, port).await;
    let history = alice
        .wait_history("the messages written after the backup", |h| h.len() == 3)
        .await;
    assert_eq!(
        texts(&history),
        ["para kopjes", "pas kopjes 1", "pas kopjes 2"]
    );
    let mut sent = alice.handle.send("nga kompjuteri i ri", None).await;
    for _ in 0..100 {
        if sent.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        sent = alice.handle.send("nga kompjuteri i ri", None).await;
    }
    let sent = sent.expect("the restored device writes again");
    assert_eq!(sent.id.0.seq, 4, "numbered after what Bob held");
    let history = bob.wait_history("the new message", |h| h.len() == 4).await;
    assert_eq!(
        texts(&history).last().map(String::as_str),
        Some("nga kompjuteri i ri")
    );
}

/// Streams opened before any guess do not each carry the code: however many a
/// stranger opens at once, it gets three guesses in all, and then none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_opened_ahead_get_three_guesses_in_all() {
    use hearth_core::wire::{self, PairFrame};
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, _bob) = set_up_pair(root.path()).await;
    let code = alice.handle.nearby_code().await.unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let alice_device = device_of(&alice).await;
    let stranger_key = hearth_net::generate_identity();
    let stranger_device = hearth_net::device_id_of(&stranger_key).unwrap();
    let (stranger, _events) = raw_node(stranger_key, None);
    stranger
        .dial(Some(alice_device), vec![alice.addr()])
        .await
        .unwrap();
    let static_key = hearth_crypto::StaticKeypair::generate().unwrap();
    let (me, them) = (
        hearth_net::peer_id_bytes(stranger_device).unwrap(),
        hearth_net::peer_id_bytes(alice_device).unwrap(),
    );
    // Eight streams open before the first guess.
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(
            stranger
                .open(alice_device, hearth_net::Protocol::Pair)
                .await
                .unwrap(),
        );
    }
    // Each stream runs the handshake as far as Alice lets it. "Busy" (the
    // attempt before has not let the slot go yet) is what a real initiator
    // retries: it does so on a new stream, behind the ones opened ahead. So is a
    // stream reset before it carried a guess: libp2p-stream holds one arriving
    // stream per protocol and resets the next if both come within one poll of
    // the connection, which eight opened at once on a loaded machine do. That
    // costs no try; the initiator opens another.
    let (mut wrong_code, mut refused, mut busy, mut dropped) = (0, 0, 0, 0);
    let mut streams = std::collections::VecDeque::from(streams);
    while let Some(mut stream) = streams.pop_front() {
        let (mut pairing, first) = hearth_crypto::Pairing::initiator(hearth_crypto::PairingInput {
            code: wrong.as_bytes(),
            initiator: &me,
            responder: &them,
            local_static: &static_key,
            profile: Vec::new(),
        })
        .unwrap();
        if stream
            .send(&wire::encode(&PairFrame::Start(first)))
            .await
            .is_err()
        {
            dropped += 1;
            assert!(dropped < 50, "Alice kept dropping streams");
            let again = stranger
                .open(alice_device, hearth_net::Protocol::Pair)
                .await
                .unwrap();
            streams.push_back(again);
            continue;
        }
        loop {
            let bytes = tokio::time::timeout(Duration::from_secs(5), stream.recv())
                .await
                .expect("Alice answers every step")
                .expect("Alice answers before closing");
            match wire::decode_pair(&bytes).unwrap() {
                PairFrame::Step(msg) => match pairing.receive(&msg).unwrap() {
                    hearth_crypto::Progress::Send(next) => stream
                        .send(&wire::encode(&PairFrame::Step(next)))
                        .await
                        .unwrap(),
                    other => panic!("a wrong code went further: {other:?}"),
                },
                PairFrame::Failed => {
                    wrong_code += 1;
                    break;
                }
                PairFrame::Unavailable(wire::PairRefusal::Busy) => {
                    busy += 1;
                    assert!(busy < 50, "Alice stayed busy");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let again = stranger
                        .open(alice_device, hearth_net::Protocol::Pair)
                        .await
                        .unwrap();
                    streams.push_back(again);
                    break;
                }
                PairFrame::Unavailable(_) => {
                    refused += 1;
                    break;
                }
                other => panic!("unexpected answer {other:?}"),
            }
        }
    }
    assert_eq!(wrong_code, 3, "three guesses, no more");
    assert_eq!(refused, 5, "the other streams were turned away");
    alice
        .wait_event("the code dying", |e| {
            matches!(
                e,
                NodeEvent::PairingFailed(PairingFailure::WrongCodeTried { tries_left: 0 })
            )
        })
        .await;
    stranger.shutdown().await;
}

/// Alice ends the pairing while Bob's device is off, keeping the history: she can
/// write nothing more; when Bob's device comes back it hears, and both carry it
/// out; each still reads the history; then they pair anew, from nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_pairing_while_apart_is_carried_out_when_they_meet() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    alice.handle.send("hello", None).await.unwrap();
    bob.wait_history("hello", |h| texts(h) == ["hello"]).await;
    bob.handle.shutdown().await;

    let ended = alice.handle.uncouple(false).await.unwrap();
    assert!(!ended.done && !ended.by_partner && !ended.delete_history);
    assert_eq!(ended.partner_name, "Bob");
    assert!(matches!(
        alice.handle.send("one more", None).await,
        Err(NodeError::Refused(hearth_node::Refusal::PairingEnded))
    ));
    assert!(
        alice.handle.status().await.unwrap().paired,
        "not carried out yet"
    );

    let bob = Device::start("bob", &bob.dir, bob.port).await;
    bob.wait_event(
        "the pairing ended by Alice, carried out",
        |e| matches!(e, NodeEvent::Ended(x) if x.by_partner && x.done && x.partner_name == "Alice"),
    )
    .await;
    alice
        .wait_event(
            "the ending carried out",
            |e| matches!(e, NodeEvent::Ended(x) if !x.by_partner && x.done),
        )
        .await;
    for device in [&alice, &bob] {
        let status = device.handle.status().await.unwrap();
        assert!(!status.paired, "{}", device.name);
        assert!(status.ended.is_some_and(|e| e.done && !e.delete_history));
        assert_eq!(texts(&device.history().await), ["hello"], "{}", device.name);
    }

    // A new pairing starts from nothing.
    let invite = alice.handle.invite().await.unwrap();
    bob.handle.pair(invite.code).await.unwrap();
    alice
        .wait_history("the old history gone", |h| h.is_empty())
        .await;
    bob.wait_history("the old history gone", |h| h.is_empty())
        .await;
    assert!(bob.handle.status().await.unwrap().ended.is_none());
    alice
        .handle
        .send("again, from the start", None)
        .await
        .unwrap();
    bob.wait_history("the new pairing's first message", |h| {
        texts(h) == ["again, from the start"]
    })
    .await;
}

/// The partner's device never comes back (or its acknowledgement was lost): asked
/// again, the ending is carried out here at once, and this device can pair anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_again_carries_it_out_without_the_partner() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = paired_pair(root.path()).await;
    bob.handle.shutdown().await;
    let first = alice.handle.uncouple(false).await.unwrap();
    assert!(!first.done);
    let again = alice.handle.uncouple(false).await.unwrap();
    assert!(again.done, "{again:?}");
    assert!(!alice.handle.status().await.unwrap().paired);
    alice.handle.invite().await.unwrap();
}
