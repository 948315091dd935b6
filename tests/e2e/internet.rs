//! Across the internet, in miniature: a "public" network namespace with a
//! `hearth relay`, and homes behind their own NAT namespaces (nftables masquerade),
//! as couples live behind home routers. Alice invites, Bob pairs from the invite
//! alone, hole punching upgrades the relayed connection to a direct one; where the
//! NATs block it, everything flows through the relay, which sees no plaintext and
//! loses nothing when it restarts. Bob moving to another NAT finds Alice again.
//!
//! Needs root, `ip` (iproute2), `nft` (nftables) and `tcpdump`, which `.ci/run`
//! installs. Addresses are TEST-NET-3 (203.0.113.0/24) and 10.0.0.0/8 inside the
//! namespaces only.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::proc::{Proc, init};

const RELAY_IP: &str = "203.0.113.1";

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

/// Runs `script` with `sh -c` inside namespace `ns`.
fn in_ns(ns: &str, script: &str) {
    run("ip", &["netns", "exec", ns, "sh", "-ec", script]);
}

/// The namespaces of one test, removed on drop.
struct World {
    id: u32,
    namespaces: Vec<String>,
}

impl World {
    /// The public network with nothing on it yet. With `block_punching`, every NAT
    /// added drops whatever comes from the internet except the relay's traffic, as
    /// a strict (symmetric, firewalled) router would: hole punching cannot work.
    fn new() -> World {
        // Unique across processes and across the tests of this one, and short:
        // interface names hold 15 characters.
        static WORLDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = WORLDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10;
        let mut world = World {
            id: std::process::id() % 10_000 * 10 + n,
            namespaces: Vec::new(),
        };
        let public = world.add_ns("pub");
        in_ns(
            &public,
            &format!(
                "ip link set lo up; ip link add br0 type bridge; \
                 ip addr add {RELAY_IP}/24 dev br0; ip link set br0 up"
            ),
        );
        world
    }

    fn name(&self, role: &str) -> String {
        format!("h{role}-{}", self.id)
    }

    fn add_ns(&mut self, role: &str) -> String {
        let ns = self.name(role);
        run("ip", &["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        ns
    }

    /// A home behind its own NAT: `home{n}` (10.0.n.2) behind `nat{n}`, whose
    /// public side is 203.0.113.(10+n) on the public bridge. Returns the home's
    /// namespace.
    fn add_home(&mut self, n: u8, block_punching: bool) -> String {
        let (public, nat, home) = (
            self.name("pub"),
            self.add_ns(&format!("nat{n}")),
            self.add_ns(&format!("home{n}")),
        );
        let (wan, wan_peer) = (format!("hw{n}x{}", self.id), format!("hp{n}x{}", self.id));
        let (lan, lan_peer) = (format!("hl{n}x{}", self.id), format!("hh{n}x{}", self.id));
        run(
            "ip",
            &[
                "link", "add", &wan, "type", "veth", "peer", "name", &wan_peer,
            ],
        );
        run(
            "ip",
            &[
                "link", "add", &lan, "type", "veth", "peer", "name", &lan_peer,
            ],
        );
        run("ip", &["link", "set", &wan_peer, "netns", &public]);
        run("ip", &["link", "set", &wan, "netns", &nat]);
        run("ip", &["link", "set", &lan, "netns", &nat]);
        run("ip", &["link", "set", &lan_peer, "netns", &home]);
        in_ns(
            &public,
            &format!("ip link set {wan_peer} master br0; ip link set {wan_peer} up"),
        );
        let filter = if block_punching {
            format!(
                "nft add table ip filter; \
                 nft add chain ip filter forward_guard '{{ type filter hook forward priority 0; }}'; \
                 nft add rule ip filter forward_guard iifname {wan} ip saddr != {RELAY_IP} drop"
            )
        } else {
            "true".into()
        };
        // Like a home router, the NAT drops what nobody inside asked for, before
        // the kernel's connection tracking remembers it: a stray packet must not
        // take the port a hole punch is about to use.
        in_ns(
            &nat,
            &format!(
                "ip link set lo up; \
                 ip addr add 203.0.113.{public_ip}/24 dev {wan}; ip link set {wan} up; \
                 ip addr add 10.0.{n}.1/24 dev {lan}; ip link set {lan} up; \
                 sysctl -qw net.ipv4.ip_forward=1; \
                 nft add table ip nat; \
                 nft add chain ip nat post '{{ type nat hook postrouting priority 100; }}'; \
                 nft add rule ip nat post oifname {wan} masquerade; \
                 nft add table ip guard; \
                 nft add chain ip guard in '{{ type filter hook input priority 0; }}'; \
                 nft add rule ip guard in iifname {wan} ct state new drop; \
                 {filter}",
                public_ip = 10 + u16::from(n),
            ),
        );
        in_ns(
            &home,
            &format!(
                "ip link set lo up; ip addr add 10.0.{n}.2/24 dev {lan_peer}; \
                 ip link set {lan_peer} up; ip route add default via 10.0.{n}.1"
            ),
        );
        home
    }

    fn exec(&self, ns: &str) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), ns.into()]
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A `hearth relay` in the public namespace.
struct Relay {
    child: Child,
    /// Its QUIC address, with `/p2p/<id>`.
    quic: String,
}

impl Relay {
    fn start(world: &World, profile: &Path) -> Relay {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &world.name("pub")])
            .arg(env!("CARGO_BIN_EXE_hearth"))
            .arg("relay")
            .arg("--profile")
            .arg(profile)
            .args(["--listen", &format!("/ip4/{RELAY_IP}/udp/4001/quic-v1")])
            .args(["--listen", &format!("/ip4/{RELAY_IP}/tcp/4001")])
            .env("HEARTH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hearth relay");
        let stdout = child.stdout.take().expect("relay stdout");
        let mut lines = BufReader::new(stdout).lines();
        let quic = loop {
            let line = lines
                .next()
                .expect("the relay printed its addresses")
                .expect("relay stdout");
            assert!(line.contains("/p2p/12D3Koo"), "not a full address: {line}");
            if line.contains("/quic-v1/") {
                break line;
            }
        };
        // Keep draining stdout so the relay never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Relay { child, quic }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device(world: &World, name: &str, profile: &Path, home: &str, relay: Option<&str>) -> Proc {
    let mut args = vec![
        "--no-mdns",
        "--listen",
        "/ip4/0.0.0.0/udp/4001/quic-v1",
        "--listen",
        "/ip4/0.0.0.0/tcp/4001",
    ];
    if let Some(relay) = relay {
        args.extend(["--relay", relay]);
    }
    let exec = world.exec(home);
    let wrapper: Vec<&str> = exec.iter().map(String::as_str).collect();
    Proc::start(name, profile, &args, &wrapper)
}

/// Alice in `home_a`, told about the relay, and Bob in `home_b`, who knows nothing
/// but what an invite will tell him; both with a profile, not yet paired.
fn couple(world: &World, root: &Path, relay: &Relay, home_a: &str, home_b: &str) -> (Proc, Proc) {
    let mut alice = device(
        world,
        "alice",
        &root.join("alice"),
        home_a,
        Some(&relay.quic),
    );
    let mut bob = device(world, "bob", &root.join("bob"), home_b, None);
    init(&mut alice, "Alice");
    init(&mut bob, "Bob");
    (alice, bob)
}

/// Sends `text` from `from` and waits for `to` to have it; returns how long it took.
fn deliver(from: &mut Proc, to: &mut Proc, text: &str) -> Duration {
    let sent = Instant::now();
    let answer = from.ask(json!({"cmd": "send", "text": text}));
    assert_eq!(answer["event"], "message", "{answer}");
    to.wait(&format!("the message {text:?}"), |e| {
        e["event"] == "message" && e["text"] == text
    });
    sent.elapsed()
}

/// The median of a few message round trips: Alice to Bob, then Bob's answer back.
fn round_trips(alice: &mut Proc, bob: &mut Proc, label: &str) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|i| {
            deliver(alice, bob, &format!("{label} ping {i}"))
                + deliver(bob, alice, &format!("{label} pong {i}"))
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn connection(proc: &mut Proc) -> Value {
    proc.ask(json!({"cmd": "status"}))["connection"].clone()
}

/// Pairs Bob with Alice from Alice's invite alone; returns how long Bob's `pair`
/// took (dialling through the relay, pairing, and back).
fn pair_from_invite(alice: &mut Proc, bob: &mut Proc) -> Duration {
    let invite = alice.ask(json!({"cmd": "invite"}));
    let code = invite["code"].as_str().expect("an invite").to_string();
    let started = Instant::now();
    let paired = bob.ask(json!({"cmd": "pair", "code": code}));
    assert_eq!(paired["event"], "paired", "{paired}");
    let took = started.elapsed();
    alice.wait("paired", |e| e["event"] == "paired");
    took
}

#[test]
fn behind_two_nats_pair_by_invite_punch_through_to_direct_and_find_each_other_after_a_move() {
    if !crate::netns::available("behind_two_nats", &["nft", "tcpdump"]) {
        return;
    }
    let mut world = World::new();
    let home_a = world.add_home(1, false);
    let home_b = world.add_home(2, false);
    let home_c = world.add_home(3, false);
    let root = tempfile::tempdir().unwrap();
    let relay = Relay::start(&world, &root.path().join("relay"));

    let (mut alice, mut bob) = couple(&world, root.path(), &relay, &home_a, &home_b);
    let started = Instant::now();
    let paired_in = pair_from_invite(&mut alice, &mut bob);
    eprintln!("paired through the relay in {paired_in:?}");
    // The relayed connection becomes a direct one by hole punching.
    alice.wait("a direct connection", |e| {
        e["event"] == "connection" && e["via"] == "direct"
    });
    eprintln!(
        "direct {:?} after Bob entered the invite",
        started.elapsed()
    );
    let bob_status = bob.ask(json!({"cmd": "status"}));
    assert!(
        bob_status["relays"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == relay.quic.as_str())),
        "Bob uses the relay the invite came through: {bob_status}"
    );

    let first = deliver(&mut bob, &mut alice, "Përshëndetje nga larg");
    deliver(&mut alice, &mut bob, "Hello from far away");
    eprintln!("first message Bob → Alice in {first:?}");

    assert_eq!(connection(&mut alice), "direct");
    assert_eq!(connection(&mut bob), "direct");
    let rtt = round_trips(&mut alice, &mut bob, "direct");
    eprintln!("message round trip, direct: {rtt:?} (median of 5)");

    // Bob takes his laptop to another home behind another NAT, and writes before
    // he is connected: the messages wait, then find Alice.
    bob.quit();
    let mut bob = device(&world, "bob", &root.path().join("bob"), &home_c, None);
    let moved = Instant::now();
    let queued: Vec<String> = (0..3).map(|i| format!("Nga shtëpia e re {i}")).collect();
    for text in &queued {
        let answer = bob.ask(json!({"cmd": "send", "text": text}));
        assert_eq!(answer["event"], "message", "{answer}");
    }
    for text in &queued {
        alice.wait(&format!("Bob's queued {text:?}"), |e| {
            e["event"] == "message" && e["text"] == text.as_str()
        });
    }
    eprintln!(
        "after the move, queued messages arrived in {:?}",
        moved.elapsed()
    );
    deliver(&mut alice, &mut bob, "Mirë se erdhe");
    alice.quit();
    bob.quit();
    relay.stop();
}

/// Starts tcpdump on the public bridge, writing every packet to `file`.
fn capture(world: &World, file: &Path) -> Child {
    let child = Command::new("ip")
        .args(["netns", "exec", &world.name("pub")])
        // As root throughout (-Z root): the capture goes into the test's private
        // temporary directory.
        .args([
            "tcpdump",
            "--immediate-mode",
            "-i",
            "br0",
            "-U",
            "-s",
            "0",
            "-Z",
            "root",
            "-w",
        ])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tcpdump");
    // tcpdump needs a moment to open the interface.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn when_the_nats_block_hole_punching_the_relay_carries_ciphertext_only_and_loses_nothing() {
    if !crate::netns::available("when_the_nats_block_hole_punching", &["nft", "tcpdump"]) {
        return;
    }
    let mut world = World::new();
    let home_a = world.add_home(1, true);
    let home_b = world.add_home(2, true);
    let root = tempfile::tempdir().unwrap();
    let relay_profile = root.path().join("relay");
    let relay = Relay::start(&world, &relay_profile);
    let pcap = root.path().join("relay.pcap");
    let mut tcpdump = capture(&world, &pcap);

    let (mut alice, mut bob) = couple(&world, root.path(), &relay, &home_a, &home_b);
    let paired_in = pair_from_invite(&mut alice, &mut bob);
    eprintln!("paired through the relay in {paired_in:?}");

    let marker = format!("HEARTH-PLAINTEXT-MARKER-{}", rand::random::<u64>());
    let before = std::fs::metadata(&pcap).unwrap().len();
    deliver(&mut bob, &mut alice, &marker);
    deliver(&mut alice, &mut bob, &format!("{marker} back"));
    let rtt = round_trips(&mut alice, &mut bob, "relayed");
    eprintln!("message round trip through the relay: {rtt:?} (median of 5)");

    // Hole punching was tried and failed; the two stay connected via the relay.
    assert_eq!(connection(&mut alice), "relay");
    assert_eq!(connection(&mut bob), "relay");

    // Everything the relay carried is in the capture, and the marker is not.
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-INT", &tcpdump.id().to_string()])
        .status();
    let _ = tcpdump.wait();
    let captured = std::fs::read(&pcap).unwrap();
    assert!(
        captured.len() as u64 > before + 2 * marker.len() as u64,
        "the capture holds the relayed messages ({} bytes)",
        captured.len()
    );
    // Both homes' traffic passed here: their NATs' public addresses are in it.
    for nat in [[203, 0, 113, 11], [203, 0, 113, 12]] {
        assert!(
            captured.windows(4).any(|w| w == nat),
            "the capture saw {nat:?}"
        );
    }
    assert!(
        !captured
            .windows(marker.len())
            .any(|w| w == marker.as_bytes()),
        "the relay saw the plaintext marker"
    );

    // The relay goes down: Bob's messages wait; it comes back, they arrive.
    relay.stop();
    alice.wait("losing the relayed connection", |e| {
        e["event"] == "presence" && e["online"] == false
    });
    let queued: Vec<String> = (0..3)
        .map(|i| format!("While the relay was down {i}"))
        .collect();
    for text in &queued {
        let answer = bob.ask(json!({"cmd": "send", "text": text}));
        assert_eq!(answer["event"], "message", "{answer}");
        assert_eq!(answer["delivery"], "queued", "{answer}");
    }
    let back = Instant::now();
    let relay = Relay::start(&world, &relay_profile);
    for text in &queued {
        alice.wait(&format!("Bob's queued {text:?}"), |e| {
            e["event"] == "message" && e["text"] == text.as_str()
        });
    }
    eprintln!(
        "queued messages arrived {:?} after the relay came back",
        back.elapsed()
    );
    alice.quit();
    bob.quit();
    relay.stop();
}
