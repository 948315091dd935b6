//! Files over loopback, two engines in one process.
//!
//! `cargo bench -p hearth-node --bench transfer` prints:
//! - a 1 GiB file: how long reading and sealing it into the sender's store takes,
//!   then the transfer from the op being written to the receiver holding every byte
//!   checked, in MB/s, and the process's CPU time over it (both ends together);
//! - chat latency while a 200 MiB file moves (five times): a text 10 ms after the
//!   last arrived, from `send` to the partner's engine reporting it, p50 and p99
//!   (target: p99 ≤ 50 ms), and each text slower than 25 ms.
//!
//! `HEARTH_BENCH_FILE_MIB` changes the big file's size.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{free_port, percentile, profile, start};
use hearth_node::{FileSource, NodeEvent, SendOptions};
use rand::RngCore;
use tokio::sync::mpsc;

const MIB: u64 = 1024 * 1024;

/// User plus system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn write_file(path: &std::path::Path, mib: u64) {
    let mut block = vec![0u8; MIB as usize];
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for _ in 0..mib {
        rand::thread_rng().fill_bytes(&mut block[..64]);
        file.write_all(&block).expect("write");
    }
    file.flush().expect("flush");
}

async fn wait_done(events: &mut mpsc::Receiver<NodeEvent>, id: hearth_node::MessageId) {
    while let Some(event) = events.recv().await {
        if matches!(&event, NodeEvent::TransferDone { id: done, .. } if *done == id) {
            return;
        }
    }
}

fn main() {
    let big_mib: u64 = std::env::var("HEARTH_BENCH_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let root = tempfile::tempdir_in(std::env::var("HEARTH_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))
            .expect("temp dir");
        let (alice, _alice_events) = start(&root.path().join("alice"), free_port()).await;
        let (bob, mut bob_events) = start(&root.path().join("bob"), free_port()).await;
        alice.init(profile("Alice")).await.expect("init");
        bob.init(profile("Bob")).await.expect("init");
        let invite = alice.invite().await.expect("invite");
        bob.pair(invite.code).await.expect("pair");

        let big = root.path().join("big.bin");
        write_file(&big, big_mib);
        let (t0, c0) = (Instant::now(), cpu_time());
        let sent = alice
            .send_file(FileSource::Path(big.clone()), SendOptions::default())
            .await
            .expect("send");
        let (t1, c1) = (Instant::now(), cpu_time());
        wait_done(&mut bob_events, sent.id).await;
        let (t2, c2) = (Instant::now(), cpu_time());
        let bytes = (big_mib * MIB) as f64;
        let stage = t1 - t0;
        let moved = t2 - t1;
        println!(
            "{big_mib} MiB: sealed into the sender's store in {:.2} s ({:.0} MB/s, CPU {:.2} s)",
            stage.as_secs_f64(),
            bytes / stage.as_secs_f64() / 1e6,
            (c1 - c0).as_secs_f64()
        );
        println!(
            "{big_mib} MiB: transferred and checked in {:.2} s = {:.0} MB/s (CPU {:.2} s for both ends, {:.0}% of 2 cores)",
            moved.as_secs_f64(),
            bytes / moved.as_secs_f64() / 1e6,
            (c2 - c1).as_secs_f64(),
            (c2 - c1).as_secs_f64() / moved.as_secs_f64() / 2.0 * 100.0
        );
        std::fs::remove_file(&big).ok();

        // Chat while 200 MiB move, five times over for enough texts to speak of a
        // 99th percentile.
        let medium = root.path().join("medium.bin");
        write_file(&medium, 200);
        let mut latencies = Vec::new();
        for round in 0..5 {
            let sent = alice
                .send_file(FileSource::Path(medium.clone()), SendOptions::default())
                .await
                .expect("send");
            let mut file_done = false;
            let mut i = 0;
            let began = Instant::now();
            let mut received = 0;
            while !file_done {
                let text = format!("ping {round}.{i}");
                i += 1;
                let start = Instant::now();
                alice.send(text.clone(), None).await.expect("send");
                let written = start.elapsed();
                loop {
                    match bob_events.recv().await {
                        Some(NodeEvent::Message(m)) if m.text.as_deref() == Some(text.as_str()) => {
                            let took = start.elapsed();
                            // The slow ones, with where the file was: what to look into.
                            if took > Duration::from_millis(25) {
                                println!(
                                    "  slow text at {:.2} s ({} MiB in): {:.1} ms, of which {:.1} ms writing it on the sender",
                                    (start - began).as_secs_f64(),
                                    received >> 20,
                                    took.as_secs_f64() * 1e3,
                                    written.as_secs_f64() * 1e3
                                );
                            }
                            latencies.push(took);
                            break;
                        }
                        Some(NodeEvent::Transfer { id, done, .. }) if id == sent.id => {
                            received = done
                        }
                        Some(NodeEvent::TransferDone { id, .. }) if id == sent.id => {
                            file_done = true
                        }
                        Some(_) => {}
                        None => return,
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        latencies.sort();
        println!(
            "chat during a 200 MiB transfer (5 runs): {} texts, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
        alice.shutdown().await;
        bob.shutdown().await;
    });
}
