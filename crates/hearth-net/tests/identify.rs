//! What identify tells the peers a device connects to: relays and DHT servers see
//! it, so it must not list the device's listen addresses (its LAN or VPN
//! addresses). The test plays such a peer with a plain libp2p identify.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use hearth_net::{NetConfig, NetworkOptions, Policy};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, SwarmBuilder, identify, noise, tcp, yamux};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_tells_peers_no_listen_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let identity = hearth_net::generate_identity();
    let device: PeerId = hearth_net::peer_id_text(hearth_net::device_id_of(&identity).unwrap())
        .unwrap()
        .parse()
        .unwrap();
    let listen: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
    let (net, _events) = hearth_net::spawn(NetConfig {
        identity_secret: identity,
        network: NetworkOptions {
            listen: vec![listen.to_string()],
            mdns: false,
            internet: false,
            ..NetworkOptions::default()
        },
        mdns_query_interval: Duration::from_secs(1),
        // Unpaired: open to anyone, as a relay is let in.
        policy: Policy::device(None, None),
    })
    .unwrap();
    // The device is up and listening there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !net
        .listen_addrs()
        .await
        .unwrap()
        .iter()
        .any(|a| a.starts_with(&listen.to_string()))
    {
        assert!(tokio::time::Instant::now() < deadline, "never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut observer = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            identify::Behaviour::new(identify::Config::new("/hearth/id/1".into(), key.public()))
        })
        .unwrap()
        .build();
    observer.dial(listen.clone()).unwrap();
    let info = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let SwarmEvent::Behaviour(identify::Event::Received { peer_id, info, .. }) =
                observer.select_next_some().await
            {
                break (peer_id, info);
            }
        }
    })
    .await
    .expect("the device identified itself");
    assert_eq!(info.0, device, "it was the device that answered");
    assert!(
        info.1.listen_addrs.is_empty(),
        "the device told a stranger where it listens: {:?}",
        info.1.listen_addrs
    );
    net.shutdown().await;
}
