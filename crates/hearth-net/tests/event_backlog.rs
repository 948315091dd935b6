//! The network task never waits on the engine: with the event channel full and
//! nobody reading it, commands are still answered, connections still come up, and
//! once the events are read again none is lost and they come in order.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use hearth_net::{Net, NetConfig, NetEvent, NetworkOptions, Policy};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Listeners on the flooded node: each gives a `Listening` and a `Reachable`
/// event, together well over the 256 events the channel holds.
const LISTENERS: usize = 400;

/// How long any one answer may take before the test calls it a deadlock.
const ANSWER: Duration = Duration::from_secs(20);

fn config(listeners: usize) -> NetConfig {
    NetConfig {
        identity_secret: hearth_net::generate_identity(),
        network: NetworkOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_string(); listeners],
            mdns: false,
            internet: false,
            ..NetworkOptions::default()
        },
        mdns_query_interval: Duration::from_secs(1),
        policy: Policy::default(),
    }
}

/// Waits, without taking anything out, until the channel holds all it can.
async fn wait_full(events: &mpsc::Receiver<NetEvent>) {
    timeout(ANSWER, async {
        while events.len() < events.max_capacity() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the event channel never filled up");
}

async fn answer<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    timeout(ANSWER, future).await.unwrap_or_else(|_| {
        panic!("{what}: no answer within {ANSWER:?}: the network task is stuck")
    })
}

async fn wait_connected(net: &Net, peer: hearth_core::DeviceId) {
    answer("is_connected", async {
        while !net.is_connected(peer).await.unwrap() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// The address without its `/p2p/<id>` suffix.
fn bare(addr: &str) -> &str {
    addr.rsplit_once("/p2p/").map_or(addr, |(bare, _)| bare)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_served_while_nobody_reads_events() {
    let (flooded, mut events) = hearth_net::spawn(config(LISTENERS)).unwrap();
    let (other, _other_events) = hearth_net::spawn(config(1)).unwrap();

    // Nobody reads `events`: it fills up, and the node has more to say.
    wait_full(&events).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let listening = answer("listen_addrs", flooded.listen_addrs())
        .await
        .unwrap();
    assert!(!listening.is_empty());
    answer("set_policy", flooded.set_policy(Policy::default()))
        .await
        .unwrap();
    assert!(
        !answer("is_connected", flooded.is_connected(other.local()))
            .await
            .unwrap()
    );
    let other_addrs = answer("listen_addrs", other.listen_addrs()).await.unwrap();
    answer("dial", flooded.dial(Some(other.local()), other_addrs))
        .await
        .unwrap();
    // The connection comes up on both sides although the events still wait.
    wait_connected(&flooded, other.local()).await;
    wait_connected(&other, flooded.local()).await;
    assert_eq!(events.len(), events.max_capacity(), "nobody has read yet");

    // Now the engine reads: every event is there, in order.
    let mut announced = HashSet::new();
    let mut connected = false;
    answer("draining the events", async {
        while announced.len() < LISTENERS || !connected {
            match events.recv().await.expect("the network stopped") {
                NetEvent::Listening { addr } => {
                    assert!(
                        announced.insert(bare(&addr).to_string()),
                        "{addr} announced twice"
                    );
                }
                NetEvent::Reachable { addrs } => {
                    // Each address was announced by a `Listening` before it.
                    for addr in &addrs {
                        assert!(
                            announced.contains(addr.as_str()),
                            "{addr} reachable before it was announced: out of order"
                        );
                    }
                }
                NetEvent::Connected { peer, .. } => {
                    assert_eq!(peer, other.local());
                    connected = true;
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(announced.len(), LISTENERS, "a Listening event was lost");
    let listening = answer("listen_addrs", flooded.listen_addrs())
        .await
        .unwrap();
    let listening: HashSet<String> = listening.iter().map(|a| bare(a).to_string()).collect();
    assert_eq!(listening, announced);

    answer("shutdown", flooded.shutdown()).await;
    answer("shutdown", other.shutdown()).await;
}
