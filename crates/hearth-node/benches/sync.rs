//! Sync over loopback, two engines in one process.
//!
//! `cargo bench -p hearth-node --bench sync` prints:
//! - the round trip of a message: `send` → stored on the partner's disk → the ack is
//!   back and the sender sees "delivered" (targets: p50 ≤ 1 ms, p99 ≤ 5 ms);
//! - a burst: 1,000 texts sent at once (each its own `send`, all queued together),
//!   from the first `send` to the last of them shown on the partner's side (target:
//!   ≤ 200 ms); three bursts;
//! - how long a partner coming back online takes to catch up 10,000 ops, from
//!   starting its engine to holding them all (target: ≤ 1 s).

mod common;

use std::time::Instant;

use common::{free_port, percentile, profile, start};
use hearth_node::{Delivery, NodeEvent};
use tokio::sync::mpsc;

const ROUND_TRIPS: usize = 2000;
const CATCH_UP: usize = 10_000;
const BURST: usize = 1000;

/// Sends `BURST` texts at once and returns how long until the partner shows them
/// all. Both sides' events are drained meanwhile, as a UI would.
async fn burst(
    round: usize,
    alice: &hearth_node::NodeHandle,
    alice_events: &mut mpsc::Receiver<NodeEvent>,
    bob_events: &mut mpsc::Receiver<NodeEvent>,
) -> std::time::Duration {
    let started = Instant::now();
    let sends = futures::future::join_all(
        (0..BURST).map(|i| alice.send(format!("burst {round} text {i}"), None)),
    );
    let arrived = async {
        let mut received = 0;
        while received < BURST {
            match bob_events.recv().await {
                Some(NodeEvent::Message(_)) => received += 1,
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
        started.elapsed()
    };
    let delivered = async {
        let mut delivered = 0;
        while delivered < BURST {
            match alice_events.recv().await {
                Some(NodeEvent::Delivery {
                    state: Delivery::Delivered,
                    ..
                }) => delivered += 1,
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
    };
    let (sent, took, ()) = tokio::join!(sends, arrived, delivered);
    assert!(sent.iter().all(Result::is_ok), "every send succeeds");
    took
}

async fn next_paired(events: &mut mpsc::Receiver<NodeEvent>) {
    while let Some(event) = events.recv().await {
        if matches!(event, NodeEvent::Paired(_)) {
            return;
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let root = tempfile::tempdir().expect("temp dir");
        let (alice_port, bob_port) = (free_port(), free_port());
        let (alice, mut alice_events) = start(&root.path().join("alice"), alice_port).await;
        let (bob, mut bob_events) = start(&root.path().join("bob"), bob_port).await;
        alice.init(profile("Alice")).await.expect("init");
        bob.init(profile("Bob")).await.expect("init");
        let invite = alice.invite().await.expect("invite");
        bob.pair(invite.code).await.expect("pair");
        next_paired(&mut alice_events).await;

        for round in 0..3 {
            let took = burst(round, &alice, &mut alice_events, &mut bob_events).await;
            println!(
                "burst of {BURST} texts: all at the partner {:.1} ms after the first send",
                took.as_secs_f64() * 1e3
            );
        }

        let bob_drain = tokio::spawn(async move { while bob_events.recv().await.is_some() {} });

        // Warm up, then measure round trips one at a time.
        let mut samples = Vec::with_capacity(ROUND_TRIPS);
        for i in 0..ROUND_TRIPS + 100 {
            let started = Instant::now();
            let sent = alice.send(format!("ping {i}"), None).await.expect("send");
            loop {
                match alice_events.recv().await {
                    Some(NodeEvent::Delivery {
                        id,
                        state: Delivery::Delivered,
                    }) if id == sent.id => break,
                    Some(_) => {}
                    None => panic!("engine stopped"),
                }
            }
            if i >= 100 {
                samples.push(started.elapsed());
            }
        }
        samples.sort();
        println!(
            "round trip over {ROUND_TRIPS} messages: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            percentile(&samples, 0.50).as_secs_f64() * 1e3,
            percentile(&samples, 0.99).as_secs_f64() * 1e3,
            samples[samples.len() - 1].as_secs_f64() * 1e3,
        );

        // Bob goes away; Alice writes 10k; Bob comes back and catches up.
        bob.shutdown().await;
        bob_drain.abort();
        let alice_drain = tokio::spawn(async move { while alice_events.recv().await.is_some() {} });
        for i in 0..CATCH_UP {
            alice
                .send(format!("while you were away {i}"), None)
                .await
                .expect("send");
        }
        let started = Instant::now();
        let (bob, mut bob_events) = start(&root.path().join("bob"), bob_port).await;
        let mut received = 0;
        while received < CATCH_UP {
            match bob_events.recv().await {
                Some(NodeEvent::Message(_)) => received += 1,
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
        println!(
            "catch-up of {CATCH_UP} ops: {:.3} s from engine start to all stored",
            started.elapsed().as_secs_f64()
        );
        bob.shutdown().await;
        alice.shutdown().await;
        alice_drain.abort();
    });
}
