//! Helpers shared by the node's benchmarks: engines on loopback.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use hearth_node::{Node, NodeConfig, NodeEvent, NodeHandle, Profile};
use tokio::sync::mpsc;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub async fn start(dir: &std::path::Path, port: u16) -> (NodeHandle, mpsc::Receiver<NodeEvent>) {
    let mut config = NodeConfig::new(dir);
    // HEARTH_BENCH_TRANSPORT=quic measures QUIC instead of TCP + Noise + yamux.
    config.network.listen = match std::env::var("HEARTH_BENCH_TRANSPORT").as_deref() {
        Ok("quic") => vec![format!("/ip4/127.0.0.1/udp/{port}/quic-v1")],
        _ => vec![format!("/ip4/127.0.0.1/tcp/{port}")],
    };
    config.network.mdns = false;
    Node::start(config).await.expect("engine starts")
}

pub fn profile(name: &str) -> Profile {
    Profile {
        name: name.into(),
        language: "en".into(),
        time_zone: "UTC".into(),
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
