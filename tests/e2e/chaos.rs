//! Kill -9 chaos: 1000 messages flow between two processes while one side or the
//! other is killed at random moments; after restarts, every message exists exactly
//! once on both sides, in the same order.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::proc::{Proc, free_port, init, pair_by_invite};

const PER_SIDE: usize = 500;
const BURST: usize = 50;
const MAX_KILLS: usize = 6;

struct Side {
    name: &'static str,
    port: u16,
    proc: Option<Proc>,
    /// Texts this side has written (confirmed, or found in its history after a crash).
    written: HashSet<String>,
    next: usize,
}

impl Side {
    fn start(&mut self, root: &Path) {
        let listen = format!("/ip4/127.0.0.1/tcp/{}", self.port);
        self.proc = Some(Proc::start(
            self.name,
            &root.join(self.name),
            &["--no-mdns", "--listen", &listen],
            &[],
        ));
    }

    fn proc(&mut self) -> &mut Proc {
        self.proc.as_mut().expect("running")
    }

    fn text(&self, i: usize) -> String {
        format!("{}-{i}", self.name)
    }
}

#[test]
fn every_message_exists_exactly_once_after_kill_9_restarts() {
    let seed = std::env::var("HEARTH_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("chaos seed {seed} (set HEARTH_CHAOS_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let root = tempfile::tempdir().unwrap();
    let mut sides = [
        Side {
            name: "alice",
            port: free_port(),
            proc: None,
            written: HashSet::new(),
            next: 0,
        },
        Side {
            name: "bob",
            port: free_port(),
            proc: None,
            written: HashSet::new(),
            next: 0,
        },
    ];
    for side in &mut sides {
        side.start(root.path());
    }
    init(sides[0].proc(), "Alice");
    init(sides[1].proc(), "Bob");
    {
        let [alice, bob] = &mut sides;
        pair_by_invite(alice.proc(), bob.proc());
    }

    let mut kills = 0;
    while sides.iter().any(|s| s.next < PER_SIDE) {
        let sender = if sides[0].next >= PER_SIDE {
            1
        } else if sides[1].next >= PER_SIDE {
            0
        } else {
            rng.gen_range(0..2)
        };
        let count = BURST.min(PER_SIDE - sides[sender].next);
        let mut pending: HashMap<u64, String> = HashMap::new();
        for _ in 0..count {
            let text = sides[sender].text(sides[sender].next);
            sides[sender].next += 1;
            let req = sides[sender]
                .proc()
                .send(json!({"cmd": "send", "text": text}));
            pending.insert(req, text);
        }
        let victim = (kills < MAX_KILLS && rng.gen_bool(0.5)).then(|| rng.gen_range(0..2));
        if let Some(victim) = victim {
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..40)));
            eprintln!(
                "killing {} with {} sends in flight",
                sides[victim].name,
                pending.len()
            );
            sides[victim].proc.take().expect("running").kill9();
            kills += 1;
        }
        // Collect the answers the sender gave before it died (or all of them).
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pending.is_empty() && sides[sender].proc.is_some() && Instant::now() < deadline {
            let answer = sides[sender]
                .proc()
                .wait("a send answer", |e| e.get("req").is_some());
            let req = answer["req"].as_u64().unwrap();
            if let Some(text) = pending.remove(&req) {
                assert_eq!(answer["event"], "message", "{answer}");
                sides[sender].written.insert(text);
            }
        }
        if let Some(victim) = victim {
            sides[victim].start(root.path());
        }
        // Sends the crash swallowed: the message is written if the store has it (a
        // user would see it in the window); otherwise it is sent again.
        if !pending.is_empty() {
            let held: HashSet<String> = sides[sender]
                .proc()
                .history()
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            let mut missing: Vec<String> = Vec::new();
            for text in pending.into_values() {
                if held.contains(&text) {
                    sides[sender].written.insert(text);
                } else {
                    missing.push(text);
                }
            }
            missing.sort_by_key(|t| t.rsplit('-').next().and_then(|n| n.parse::<usize>().ok()));
            for text in missing {
                let answer = sides[sender]
                    .proc()
                    .ask(json!({"cmd": "send", "text": text}));
                assert_eq!(answer["event"], "message", "{answer}");
                sides[sender].written.insert(text);
            }
        }
    }
    eprintln!("{kills} kills");

    let expected: HashSet<String> = sides
        .iter()
        .flat_map(|s| s.written.iter().cloned())
        .collect();
    assert_eq!(expected.len(), 2 * PER_SIDE);
    let mut histories = Vec::new();
    for side in &mut sides {
        let deadline = Instant::now() + Duration::from_secs(90);
        let history = loop {
            let history = side.proc().history();
            if history.len() >= 2 * PER_SIDE || Instant::now() > deadline {
                break history;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (_, text) in &history {
            *counts.entry(text.as_str()).or_default() += 1;
        }
        for text in &expected {
            assert_eq!(
                counts.get(text.as_str()),
                Some(&1),
                "{}: {text} is not there exactly once",
                side.name
            );
        }
        assert_eq!(
            history.len(),
            2 * PER_SIDE,
            "{}: nothing else is there",
            side.name
        );
        histories.push(history);
    }
    if let Some(i) = (0..histories[0].len()).find(|&i| histories[0][i] != histories[1][i]) {
        let around = |h: &[(String, String)]| -> Vec<String> {
            h[i.saturating_sub(2)..(i + 3).min(h.len())]
                .iter()
                .map(|(_, text)| text.clone())
                .collect()
        };
        panic!(
            "the timelines differ at position {i}: alice shows {:?}, bob shows {:?}",
            around(&histories[0]),
            around(&histories[1])
        );
    }
    for side in &mut sides {
        side.proc.take().expect("running").quit();
    }
}
