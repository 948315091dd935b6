//! Helpers shared by the engine tests: devices on loopback, waiting for events.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_node::{MessageView, Node, NodeConfig, NodeEvent, NodeHandle, Profile};
use tracing::Instrument;

pub const WAIT: Duration = Duration::from_secs(30);

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One device under test: its engine, every event it emitted, and how to restart it.
pub struct Device {
    pub name: &'static str,
    pub dir: PathBuf,
    pub port: u16,
    pub handle: NodeHandle,
    pub events: Arc<Mutex<Vec<NodeEvent>>>,
}

impl Device {
    pub async fn start(name: &'static str, dir: &Path, port: u16) -> Device {
        Device::start_with(name, dir, port, |_| {}).await
    }

    pub async fn start_with(
        name: &'static str,
        dir: &Path,
        port: u16,
        tweak: impl FnOnce(&mut NodeConfig),
    ) -> Device {
        let mut config = NodeConfig::new(dir);
        config.network.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}")];
        config.network.mdns = false;
        tweak(&mut config);
        let span = tracing::info_span!("node", name);
        let (handle, mut rx) = Node::start(config).instrument(span.clone()).await.unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        tokio::spawn(
            async move {
                while let Some(event) = rx.recv().await {
                    sink.lock().unwrap().push(event);
                }
            }
            .instrument(span),
        );
        Device {
            name,
            dir: dir.to_path_buf(),
            port,
            handle,
            events,
        }
    }

    pub fn addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.port)
    }

    pub async fn init(&self, name: &str, language: &str) {
        self.handle
            .init(Profile {
                name: name.into(),
                language: language.into(),
                time_zone: "Europe/Tirane".into(),
            })
            .await
            .unwrap();
    }

    /// Waits until an event matches, and returns a copy of it.
    pub async fn wait_event(&self, what: &str, matches: impl Fn(&NodeEvent) -> bool) -> NodeEvent {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = self.events.lock().unwrap().iter().find(|e| matches(e)) {
                return found.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: no event {what}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn count_events(&self, matches: impl Fn(&NodeEvent) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches(e))
            .count()
    }

    pub async fn history(&self) -> Vec<MessageView> {
        self.handle.history(1000, None).await.unwrap()
    }

    /// Waits until the history satisfies `done`.
    pub async fn wait_history(
        &self,
        what: &str,
        done: impl Fn(&[MessageView]) -> bool,
    ) -> Vec<MessageView> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let history = self.history().await;
            if done(&history) {
                return history;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: history never {what}; it has {} messages",
                self.name,
                history.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Alice (English) and Bob (Albanian), each with a profile, not yet paired.
pub async fn set_up_pair(root: &Path) -> (Device, Device) {
    set_up_pair_with(root, |_| {}).await
}

/// [`set_up_pair`], with Alice's configuration changed by `tweak_alice`.
pub async fn set_up_pair_with(
    root: &Path,
    tweak_alice: impl FnOnce(&mut NodeConfig),
) -> (Device, Device) {
    set_up_pair_with_both(root, tweak_alice, |_| {}).await
}

/// [`set_up_pair`], with each configuration changed.
pub async fn set_up_pair_with_both(
    root: &Path,
    tweak_alice: impl FnOnce(&mut NodeConfig),
    tweak_bob: impl FnOnce(&mut NodeConfig),
) -> (Device, Device) {
    let alice = Device::start_with("alice", &root.join("alice"), free_port(), tweak_alice).await;
    let bob = Device::start_with("bob", &root.join("bob"), free_port(), tweak_bob).await;
    alice.init("Alice", "en").await;
    bob.init("Bob", "sq").await;
    (alice, bob)
}

/// Alice and Bob, set up and paired by invite.
pub async fn paired_pair(root: &Path) -> (Device, Device) {
    paired_pair_with(root, |_| {}).await
}

/// [`paired_pair`], with Alice's configuration changed by `tweak_alice`.
pub async fn paired_pair_with(
    root: &Path,
    tweak_alice: impl FnOnce(&mut NodeConfig),
) -> (Device, Device) {
    paired_pair_with_both(root, tweak_alice, |_| {}).await
}

/// [`paired_pair`], with each configuration changed.
pub async fn paired_pair_with_both(
    root: &Path,
    tweak_alice: impl FnOnce(&mut NodeConfig),
    tweak_bob: impl FnOnce(&mut NodeConfig),
) -> (Device, Device) {
    let (alice, bob) = set_up_pair_with_both(root, tweak_alice, tweak_bob).await;
    let invite = alice.handle.invite().await.unwrap();
    bob.handle.pair(invite.code).await.unwrap();
    alice
        .wait_event("paired", |e| matches!(e, NodeEvent::Paired(_)))
        .await;
    (alice, bob)
}

pub fn texts(history: &[MessageView]) -> Vec<String> {
    history.iter().filter_map(|m| m.text.clone()).collect()
}

/// A bare network node on loopback with `identity`, speaking Hearth's protocols
/// directly: a stranger, or a partner's device that sends whatever a test says.
/// With `partner`, its gate lets only that device in.
pub fn raw_node(
    identity: [u8; 32],
    partner: Option<hearth_core::DeviceId>,
) -> (
    hearth_net::Net,
    tokio::sync::mpsc::Receiver<hearth_net::NetEvent>,
) {
    hearth_net::spawn(hearth_net::NetConfig {
        identity_secret: identity,
        network: hearth_net::NetworkOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            mdns: false,
            internet: false,
            ..Default::default()
        },
        mdns_query_interval: Duration::from_secs(1),
        policy: hearth_net::Policy::device(partner, None),
    })
    .unwrap()
}

/// The identity key a device's profile holds (with the device stopped).
pub fn identity_of(dir: &Path) -> [u8; 32] {
    let store = hearth_store::Store::open(dir, None).unwrap();
    store.setting("identity").unwrap().unwrap()
}

/// The device of a running node.
pub async fn device_of(device: &Device) -> hearth_core::DeviceId {
    hearth_net::device_from_peer_text(&device.handle.status().await.unwrap().peer_id).unwrap()
}
