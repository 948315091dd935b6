//! The couple's mailbox in one process: who may join it, what strangers get from it,
//! and what a device says when handed the wrong kind of invite.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hearth_core::DeviceId;
use hearth_core::wire::{self, MailboxFrame, MailboxRefusal};
use hearth_crypto::{Invite, InviteKind};
use hearth_net::{Net, Protocol};
use hearth_node::mailbox::{MailboxConfig, MailboxEvent};
use hearth_node::{Delivery, MailboxFailure, NodeError, NodeEvent, PairingFailure};
use serde_bytes::ByteBuf;

/// A mailbox on loopback in this process, its invite, and the switch that stops it.
struct Mailbox {
    invite: String,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Mailbox {
    async fn start(dir: &Path) -> Mailbox {
        Mailbox::start_with(dir, free_port(), |_| {}).await
    }

    /// A mailbox on `port`, its configuration changed by `tweak`.
    async fn start_with(dir: &Path, port: u16, tweak: impl FnOnce(&mut MailboxConfig)) -> Mailbox {
        let mut config = MailboxConfig::new(dir);
        config.network.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}")];
        config.network.internet = false;
        tweak(&mut config);
        let (invites, mut invite) = tokio::sync::mpsc::channel(8);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            hearth_node::mailbox::serve(
                config,
                move |event| {
                    if let MailboxEvent::Invite(Some((code, _))) = event {
                        let _ = invites.try_send(code);
                    }
                },
                async {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        let invite = tokio::time::timeout(WAIT, invite.recv())
            .await
            .expect("the mailbox makes an invite")
            .unwrap();
        Mailbox {
            invite,
            port,
            stop: Some(stop),
            task,
        }
    }

    /// The mailbox's device and addresses, as its invite names them.
    fn address(&self) -> (DeviceId, Vec<String>) {
        let invite = Invite::from_text_as(InviteKind::Mailbox, &self.invite).unwrap();
        let device = hearth_net::device_from_peer_bytes(&invite.peer).unwrap();
        let addrs = invite
            .addrs
            .iter()
            .map(|a| hearth_net::addr_from_bytes(a).unwrap())
            .collect();
        (device, addrs)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

/// Sends one request on a fresh stream to the mailbox and returns its answer.
async fn ask(net: &Net, mailbox: DeviceId, frame: MailboxFrame) -> Result<MailboxFrame, String> {
    let mut stream = net
        .open(mailbox, Protocol::Mailbox)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .send(&wire::encode(&frame))
        .await
        .map_err(|e| e.to_string())?;
    let bytes = tokio::time::timeout(WAIT, stream.recv())
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| e.to_string())?;
    wire::decode_mailbox(&bytes).map_err(|e| e.to_string())
}

async fn wait_left(device: &Device) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = device.handle.mailbox_status().await.unwrap();
        if status.to_leave == 0 && status.error.is_none() && status.last_contact_ms.is_some() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: never all at the mailbox: {status:?}",
            device.name
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stranger gets nothing from the mailbox; once the couple's two devices joined,
/// the invite is used up and strangers cannot even connect; the couple's letters
/// get through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_get_nothing_and_the_door_shuts_once_both_joined() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let mailbox = Mailbox::start(&root.path().join("mailbox")).await;
    let (alice, bob) = paired_pair(root.path()).await;
    let joined = alice.handle.mailbox_join(&mailbox.invite).await.unwrap();
    assert!(joined.peer_id.is_some(), "{joined:?}");
    let bob_device = device_of(&bob).await;

    // Eve found the mailbox's address but has no invite: while the invite is open
    // she may connect, and gets nothing.
    let (mailbox_device, addrs) = mailbox.address();
    let (eve, _eve_events) = raw_node(hearth_net::generate_identity(), None);
    eve.dial(Some(mailbox_device), addrs.clone()).await.unwrap();
    let fetch = MailboxFrame::Fetch { ack: 0, wait_ms: 0 };
    assert_eq!(
        ask(&eve, mailbox_device, fetch.clone()).await.unwrap(),
        MailboxFrame::Refused(MailboxRefusal::NotMember)
    );
    let deposit = MailboxFrame::Deposit {
        to: bob_device,
        letters: vec![ByteBuf::from(vec![0u8; 64])],
    };
    assert_eq!(
        ask(&eve, mailbox_device, deposit).await.unwrap(),
        MailboxFrame::Refused(MailboxRefusal::NotMember)
    );

    // Bob joins: the invite was for two devices, and is used up.
    bob.handle.mailbox_join(&mailbox.invite).await.unwrap();
    let (mallory, _mallory_events) = raw_node(hearth_net::generate_identity(), None);
    let _ = mallory.dial(Some(mailbox_device), addrs).await;
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        ask(&mallory, mailbox_device, fetch),
    )
    .await;
    assert!(
        !matches!(refused, Ok(Ok(_))),
        "a stranger was answered after the invite was used up: {refused:?}"
    );

    // The couple's letters: Bob, alone, collects Alice's.
    bob.handle.shutdown().await;
    let sent = alice.handle.send("for Bob only", None).await.unwrap();
    wait_left(&alice).await;
    alice
        .wait_event("at the mailbox", |e| {
            matches!(e, NodeEvent::Delivery { id, state: Delivery::AtMailbox } if *id == sent.id)
        })
        .await;
    alice.handle.shutdown().await;
    let bob = Device::start("bob", &bob.dir, bob.port).await;
    bob.wait_history("the letter from the mailbox", |h| {
        texts(h) == ["for Bob only"]
    })
    .await;
    bob.handle.shutdown().await;
    mailbox.stop().await;
}

/// Three wrong guesses spend the invite: the couple then needs a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guessed_invite_dies_after_three_tries() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let mailbox = Mailbox::start(&root.path().join("mailbox")).await;
    let (alice, _bob) = paired_pair(root.path()).await;
    let (mailbox_device, addrs) = mailbox.address();
    let (eve, _eve_events) = raw_node(hearth_net::generate_identity(), None);
    eve.dial(Some(mailbox_device), addrs).await.unwrap();
    for guess in 0..3u8 {
        let answer = ask(
            &eve,
            mailbox_device,
            MailboxFrame::Join { proof: [guess; 32] },
        )
        .await;
        assert_eq!(
            answer.unwrap(),
            MailboxFrame::Refused(MailboxRefusal::BadInvite)
        );
    }
    assert!(matches!(
        alice.handle.mailbox_join(&mailbox.invite).await,
        Err(NodeError::Mailbox(
            MailboxFailure::Refused | MailboxFailure::Unreachable(_)
        ))
    ));
    assert!(
        alice
            .handle
            .mailbox_status()
            .await
            .unwrap()
            .peer_id
            .is_none()
    );
    mailbox.stop().await;
}

/// A partner's invite where a mailbox's belongs, a damaged one, or a device with no
/// partner yet: each is said plainly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_invite_is_named_for_what_it_is() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let mailbox = Mailbox::start(&root.path().join("mailbox")).await;
    let (alice, bob) = set_up_pair(root.path()).await;
    assert!(matches!(
        alice.handle.mailbox_join(&mailbox.invite).await,
        Err(NodeError::NotPaired)
    ));
    let partner_invite = alice.handle.invite().await.unwrap();
    // A mailbox's invite is no partner's.
    assert!(matches!(
        bob.handle.pair(mailbox.invite.clone()).await,
        Err(NodeError::Pairing(PairingFailure::MailboxInvite))
    ));
    bob.handle.pair(partner_invite.code.clone()).await.unwrap();
    assert!(matches!(
        bob.handle.mailbox_join(&partner_invite.code).await,
        Err(NodeError::Mailbox(MailboxFailure::PartnerInvite))
    ));
    let mut damaged = mailbox.invite.clone();
    damaged.truncate(damaged.len() - 3);
    assert!(matches!(
        bob.handle.mailbox_join(&damaged).await,
        Err(NodeError::Mailbox(MailboxFailure::BadInvite))
    ));
    assert!(bob.handle.mailbox_status().await.unwrap().peer_id.is_none());
    mailbox.stop().await;
}

/// Alice ends the pairing and deletes the history while Bob's device is off; with a
/// mailbox, she carries it out once the word is there, and Bob's device, started
/// when hers is off, finds it and deletes the history too. Neither holds a word of
/// it afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_pairing_and_its_history_through_the_mailbox() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let mailbox = Mailbox::start(&root.path().join("mailbox")).await;
    let (alice, bob) = paired_pair(root.path()).await;
    for device in [&alice, &bob] {
        device.handle.mailbox_join(&mailbox.invite).await.unwrap();
    }
    alice.handle.send("our secret place", None).await.unwrap();
    bob.wait_history("the message", |h| texts(h) == ["our secret place"])
        .await;
    bob.handle.shutdown().await;

    alice.handle.uncouple(true).await.unwrap();
    alice
        .wait_event("the history deleted here", |e| {
            matches!(e, NodeEvent::Unpaired { by_partner: false })
        })
        .await;
    assert!(alice.history().await.is_empty());
    let status = alice.handle.status().await.unwrap();
    assert!(!status.paired);
    assert!(status.ended.is_some_and(|e| e.done && e.delete_history));
    alice.handle.shutdown().await;

    let bob = Device::start("bob", &bob.dir, bob.port).await;
    bob.wait_event("the history deleted there too", |e| {
        matches!(e, NodeEvent::Unpaired { by_partner: true })
    })
    .await;
    assert!(bob.history().await.is_empty());
    assert!(!bob.handle.status().await.unwrap().paired);
    bob.handle.shutdown().await;
    mailbox.stop().await;
    for dir in [root.path().join("alice"), root.path().join("bob")] {
        let store = hearth_store::Store::open(&dir, None).unwrap();
        assert!(
            !store.holds_plaintext(b"our secret place").unwrap(),
            "{dir:?}"
        );
    }
}

/// The mailbox forgets Ben's letters (its operator removed his device; he joins
/// again): letters Arta leaves later skip what was lost, Ben's device asks for it
/// again, and everything arrives, in order, though the two are never online
/// together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn letters_the_mailbox_lost_are_asked_for_again() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let mailbox_dir = root.path().join("mailbox");
    let mailbox = Mailbox::start(&mailbox_dir).await;
    let port = mailbox.port;
    let (alice, bob) = paired_pair(root.path()).await;
    for device in [&alice, &bob] {
        device.handle.mailbox_join(&mailbox.invite).await.unwrap();
    }
    let bob_peer = bob.handle.status().await.unwrap().peer_id;
    let (alice_dir, alice_port, bob_dir, bob_port) =
        (alice.dir.clone(), alice.port, bob.dir.clone(), bob.port);
    bob.handle.shutdown().await;
    alice.handle.send("one", None).await.unwrap();
    wait_left(&alice).await;
    alice.handle.shutdown().await;

    // The operator forgets Ben's device, and its letters, and makes a new invite.
    mailbox.stop().await;
    let mailbox = Mailbox::start_with(&mailbox_dir, port, |c| {
        c.forget = vec![bob_peer.clone()];
        c.new_invite = true;
    })
    .await;
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.handle.mailbox_join(&mailbox.invite).await.unwrap();
    bob.handle.shutdown().await;

    // Arta writes again: her letter skips "one", which the mailbox lost.
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    alice.handle.send("two", None).await.unwrap();
    wait_left(&alice).await;
    alice.handle.shutdown().await;
    // Ben's device finds the gap and asks for it again…
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    wait_left(&bob).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bob
        .handle
        .mailbox_status()
        .await
        .unwrap()
        .waiting_for_partner
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ben never asked again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bob.handle.shutdown().await;
    // …Arta's leaves it all again…
    let alice = Device::start("alice", &alice_dir, alice_port).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = alice.handle.mailbox_status().await.unwrap();
        if status.to_leave == 0 && status.waiting_for_partner >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Arta never left it again: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alice.handle.shutdown().await;
    // …and Ben's device has both, in order.
    let bob = Device::start("bob", &bob_dir, bob_port).await;
    bob.wait_history("both messages", |h| texts(h) == ["one", "two"])
        .await;
    bob.handle.shutdown().await;
    mailbox.stop().await;
}
