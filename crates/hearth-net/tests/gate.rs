//! The gate is shut to strangers from the swarm's first moment when the partner is
//! known at start: no command has to arrive first, so a restart of the network
//! never leaves a window open.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hearth_net::{NetConfig, NetEvent, NetworkOptions, Policy};

fn config(identity: [u8; 32], port: u16, partner: Option<hearth_core::DeviceId>) -> NetConfig {
    NetConfig {
        identity_secret: identity,
        network: NetworkOptions {
            listen: vec![format!("/ip4/127.0.0.1/tcp/{port}")],
            mdns: false,
            internet: false,
            ..NetworkOptions::default()
        },
        mdns_query_interval: Duration::from_secs(1),
        policy: Policy::device(partner, None),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_dialling_as_the_network_starts_gets_nothing() {
    let (alice_key, partner_key) = (
        hearth_net::generate_identity(),
        hearth_net::generate_identity(),
    );
    let partner_id = hearth_net::device_id_of(&partner_key).unwrap();
    let alice_id = hearth_net::device_id_of(&alice_key).unwrap();
    let port = free_port();
    let addr = format!("/ip4/127.0.0.1/tcp/{port}");

    // The stranger is ready to dial before Alice's network exists.
    let (stranger, _stranger_events) =
        hearth_net::spawn(config(hearth_net::generate_identity(), free_port(), None)).unwrap();
    let (alice, mut alice_events) =
        hearth_net::spawn(config(alice_key, port, Some(partner_id))).unwrap();
    // Dial at once, again and again, while Alice's swarm comes up; never a
    // set_policy on Alice.
    for _ in 0..20 {
        let _ = stranger.dial(Some(alice_id), vec![addr.clone()]).await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The partner gets in.
    let (partner, _partner_events) =
        hearth_net::spawn(config(partner_key, free_port(), None)).unwrap();
    partner
        .dial(Some(alice_id), vec![addr.clone()])
        .await
        .unwrap();

    let mut partner_seen = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, alice_events.recv()).await {
        match event {
            NetEvent::Connected { peer, .. } if peer == partner_id => {
                partner_seen = true;
                break;
            }
            NetEvent::Connected { peer, .. } | NetEvent::Incoming { peer, .. } => {
                panic!("a stranger got in: {peer:?}");
            }
            _ => {}
        }
    }
    assert!(partner_seen, "the partner never got in");
    assert!(!stranger.is_connected(alice_id).await.unwrap());
    for net in [stranger, alice, partner] {
        net.shutdown().await;
    }
}
