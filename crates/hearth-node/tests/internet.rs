//! Finding each other again over the couple's DHT, on loopback: a relay (which is
//! also the DHT server) runs in this process; both devices move to new ports while
//! apart, so every address either remembers is dead, and only the sealed
//! rendezvous records can bring them back together.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Device, WAIT, free_port, init_logs, texts};
use hearth_node::relay::{RelayConfig, RelayEvent};
use hearth_node::{Connection, NodeEvent};
use tokio::sync::{mpsc, oneshot};

/// Starts a relay on loopback; returns its TCP address and a way to stop it.
async fn relay() -> (String, oneshot::Sender<()>) {
    let config = RelayConfig::new(
        hearth_node::relay::generate_identity(),
        vec!["/ip4/127.0.0.1/tcp/0".into()],
    );
    let (addrs_tx, mut addrs) = mpsc::channel(16);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(hearth_node::relay::serve(
        config,
        move |RelayEvent::Address(addr)| {
            let _ = addrs_tx.try_send(addr);
        },
        async {
            let _ = stopped.await;
        },
    ));
    let addr = tokio::time::timeout(WAIT, addrs.recv())
        .await
        .expect("the relay listens")
        .expect("an address");
    (addr, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_move_while_apart_and_find_each_other_through_the_dht() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (server, stop_server) = relay().await;
    // DHT only, no relay reservation: no circuit address survives the move either.
    let dht = |config: &mut hearth_node::NodeConfig| config.network.dht = vec![server.clone()];
    let alice = Device::start_with("alice", &root.path().join("alice"), free_port(), dht).await;
    let bob = Device::start_with("bob", &root.path().join("bob"), free_port(), dht).await;
    alice.init("Alice", "en").await;
    bob.init("Bob", "sq").await;
    let invite = alice.handle.invite().await.unwrap();
    bob.handle.pair(invite.code).await.unwrap();
    bob.wait_event("online", |e| {
        matches!(e, NodeEvent::Presence { online: true })
    })
    .await;
    // On loopback the two are on the same machine: nearby.
    bob.wait_event("a path", |e| {
        matches!(e, NodeEvent::Connection(Connection::Nearby))
    })
    .await;
    assert_eq!(
        bob.handle.status().await.unwrap().dht,
        vec![server.clone()],
        "status lists the DHT server in use"
    );
    // Each has published where it is before they part.
    tokio::time::sleep(Duration::from_secs(1)).await;
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;

    // Both come back on ports neither has ever used: the remembered addresses lead
    // nowhere.
    let alice = Device::start_with("alice", &alice.dir, free_port(), dht).await;
    let bob = Device::start_with("bob", &bob.dir, free_port(), dht).await;
    bob.handle
        .send("Ku je? Të gjeta përsëri", None)
        .await
        .unwrap();
    alice
        .wait_history("Bob's message after the move", |h| {
            texts(h).contains(&"Ku je? Të gjeta përsëri".to_string())
        })
        .await;
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    let _ = stop_server.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_carries_a_circuit_on_the_relay_and_the_partner_adopts_the_relay() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (relay, stop_relay) = relay().await;
    let with_relay =
        |config: &mut hearth_node::NodeConfig| config.network.relays = vec![relay.clone()];
    let alice =
        Device::start_with("alice", &root.path().join("alice"), free_port(), with_relay).await;
    let bob = Device::start("bob", &root.path().join("bob"), free_port()).await;
    alice.init("Alice", "en").await;
    bob.init("Bob", "sq").await;
    // The invite waits for the reservation, so the circuit is in it.
    let invite = alice.handle.invite().await.unwrap();
    let status = alice.handle.status().await.unwrap();
    assert!(
        status
            .listen
            .iter()
            .any(|a| a.starts_with(&relay) && a.contains("/p2p-circuit/")),
        "Alice listens through the relay: {:?}",
        status.listen
    );
    bob.handle.pair(invite.code).await.unwrap();
    assert_eq!(
        bob.handle.status().await.unwrap().relays,
        vec![relay.clone()]
    );
    // Bob keeps the relay after a restart too.
    bob.handle.shutdown().await;
    let bob = Device::start("bob", &bob.dir, bob.port).await;
    let status = bob.handle.status().await.unwrap();
    assert_eq!(status.relays, vec![relay.clone()]);
    assert!(status.internet);
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    let _ = stop_relay.send(());
}
