//! What a DHT server learns from the couple's rendezvous. The test plays the
//! server's operator: a plain libp2p Kademlia server on loopback, on Hearth's
//! protocol, that notes who stores and who looks up. Alice publishes her record and
//! Bob finds it; neither device's PeerId ever reaches the server, the two appear as
//! different identities, and a new day's record comes from yet another one.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use hearth_net::{NetConfig, NetEvent, NetworkOptions, Policy};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, kad, noise, tcp, yamux};

/// What the operator saw: who stored which key, and every peer that connected.
#[derive(Default, Debug)]
struct Seen {
    stored: Vec<(PeerId, Vec<u8>)>,
    connected: HashSet<PeerId>,
}

type Server = Swarm<kad::Behaviour<kad::store::MemoryStore>>;

fn server() -> Server {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            let local = key.public().to_peer_id();
            let mut config = kad::Config::new(StreamProtocol::new("/hearth/kad/1"));
            config.set_record_filtering(kad::StoreInserts::FilterBoth);
            let mut kad =
                kad::Behaviour::with_config(local, kad::store::MemoryStore::new(local), config);
            kad.set_mode(Some(kad::Mode::Server));
            kad
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    swarm
}

/// Runs the server until `until` says the operator has seen enough, or 30 s pass.
async fn serve(server: &mut Server, seen: &mut Seen, mut until: impl FnMut(&Seen) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !until(seen) {
        let event = tokio::time::timeout_at(deadline, server.select_next_some())
            .await
            .expect("the operator saw enough within 30 s");
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                seen.connected.insert(peer_id);
            }
            SwarmEvent::Behaviour(kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        record: Some(record),
                        ..
                    },
            }) => {
                seen.stored.push((source, record.key.to_vec()));
                kad::store::RecordStore::put(server.behaviour_mut().store_mut(), record).unwrap();
            }
            _ => {}
        }
    }
}

fn device(identity: [u8; 32], dht: &str) -> NetConfig {
    NetConfig {
        identity_secret: identity,
        network: NetworkOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_string()],
            mdns: false,
            internet: true,
            dht: vec![dht.to_string()],
            ..NetworkOptions::default()
        },
        mdns_query_interval: Duration::from_secs(1),
        policy: Policy::device(None, None),
    }
}

async fn found(events: &mut tokio::sync::mpsc::Receiver<NetEvent>, key: &[u8]) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Found { key: k, value })) if k == key => return value,
            Ok(Some(_)) => {}
            other => panic!("no record found: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dht_server_never_sees_the_couples_peer_ids() {
    let mut server = server();
    let mut seen = Seen::default();
    let listen: Multiaddr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
            break address;
        }
    };
    let dht = format!("{listen}/p2p/{}", server.local_peer_id());

    let (alice_key, bob_key) = (
        hearth_net::generate_identity(),
        hearth_net::generate_identity(),
    );
    let alice_peer: PeerId =
        hearth_net::peer_id_text(hearth_net::device_id_of(&alice_key).unwrap())
            .unwrap()
            .parse()
            .unwrap();
    let bob_peer: PeerId = hearth_net::peer_id_text(hearth_net::device_id_of(&bob_key).unwrap())
        .unwrap()
        .parse()
        .unwrap();
    let (alice, _alice_events) = hearth_net::spawn(device(alice_key, &dht)).unwrap();
    let (bob, mut bob_events) = hearth_net::spawn(device(bob_key, &dht)).unwrap();

    alice
        .publish(b"alice day 1".to_vec(), b"sealed whereabouts".to_vec())
        .await
        .unwrap();
    serve(&mut server, &mut seen, |seen| !seen.stored.is_empty()).await;
    let (first_publisher, key) = seen.stored[0].clone();
    assert_eq!(key, b"alice day 1");

    // Bob finds it while the server keeps serving.
    bob.lookup(b"alice day 1".to_vec()).await.unwrap();
    let lookup = found(&mut bob_events, b"alice day 1");
    let value = tokio::select! {
        value = lookup => value,
        () = serve(&mut server, &mut seen, |_| false) => unreachable!("serve ends only by panicking"),
    };
    assert_eq!(value, b"sealed whereabouts");

    // The next day's record.
    alice
        .publish(b"alice day 2".to_vec(), b"sealed whereabouts".to_vec())
        .await
        .unwrap();
    serve(&mut server, &mut seen, |seen| {
        seen.stored.iter().any(|(_, key)| key == b"alice day 2")
    })
    .await;
    let second_publisher = seen
        .stored
        .iter()
        .find(|(_, key)| key == b"alice day 2")
        .map(|(peer, _)| *peer)
        .unwrap();

    assert!(
        !seen.connected.contains(&alice_peer) && !seen.connected.contains(&bob_peer),
        "a device's own PeerId reached the DHT server: {seen:?}"
    );
    // Alice's two days, and Bob: three identities the server cannot relate.
    assert_eq!(
        seen.connected.len(),
        3,
        "one identity per device per day: {seen:?}"
    );
    assert!(seen.connected.contains(&first_publisher));
    assert!(seen.connected.contains(&second_publisher));
    assert_ne!(first_publisher, second_publisher);
    for net in [alice, bob] {
        net.shutdown().await;
    }
}
