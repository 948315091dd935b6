//! The sync machine driven by scripts, in the style of rust-analyzer's
//! `check(input, expect)`: each test is a script of inputs and the text of every
//! output the machine gave, so a change of behaviour shows as a diff. Run with
//! `UPDATE_EXPECT=1` to rewrite the expectations after a deliberate change, then read
//! the diff.
//!
//! This device is `A`, the partner `B`. Script lines:
//! - `append N`: A writes N ops; `connect`, `disconnect`, `typing`
//! - `wrote` / `wrote S`: the writer (of session S) wrote a frame; `closed S`
//! - frames from B: `hello A=x B=y`, `ops B 3..5` (ops by B, seqs 3 to 5), `ack A 4`,
//!   `partner-typing`
//! - `disk-fails`: the next store of ops fails; `restoring`: A was restored from a
//!   backup and may take its own ops from B
//!
//! A `Store` output is applied to the in-memory log at once and the result fed back,
//! as the engine does; an `Acked` output is recorded.

use std::collections::HashMap;

use expect_test::{Expect, expect};
use hearth_core::wire::SyncFrame;
use hearth_core::{DeviceId, Lamport, Op, OpBody, OpId};

use super::{BATCH_OPS, Log, Output, Stored, SyncMachine, WRITER_QUEUE};

const A: DeviceId = DeviceId([0xA; 32]);
const B: DeviceId = DeviceId([0xB; 32]);

fn op(author: DeviceId, seq: u64) -> Op {
    Op {
        id: OpId { author, seq },
        lamport: Lamport(seq),
        wall_ms: 0,
        body: OpBody::Text {
            text: format!("{seq}"),
            reply_to: None,
        },
    }
}

/// Two logs in memory, and what the partner acknowledged.
#[derive(Default)]
struct MemLog {
    logs: HashMap<DeviceId, Vec<Op>>,
    acked: HashMap<DeviceId, u64>,
}

impl MemLog {
    fn append(&mut self, author: DeviceId) {
        let seq = self.held(author) + 1;
        self.logs.entry(author).or_default().push(op(author, seq));
    }

    /// What the store does with a remote batch: skip what is held, refuse a gap.
    fn apply(&mut self, ops: &[Op]) -> Stored {
        let mut next = HashMap::new();
        for op in ops {
            let held = *next
                .entry(op.id.author)
                .or_insert_with(|| self.held(op.id.author));
            if op.id.seq > held + 1 {
                return Stored::Gap;
            }
            next.insert(op.id.author, held.max(op.id.seq));
        }
        for op in ops {
            if op.id.seq == self.held(op.id.author) + 1 {
                self.logs.entry(op.id.author).or_default().push(op.clone());
            }
        }
        Stored::Durable
    }
}

impl Log for MemLog {
    fn held(&self, author: DeviceId) -> u64 {
        self.logs.get(&author).map_or(0, |l| l.len() as u64)
    }

    fn held_all(&self) -> Vec<(DeviceId, u64)> {
        let mut all: Vec<_> = self
            .logs
            .iter()
            .map(|(a, l)| (*a, l.len() as u64))
            .collect();
        all.sort();
        all
    }

    fn acked(&self, author: DeviceId) -> u64 {
        self.acked.get(&author).copied().unwrap_or(0)
    }

    fn ops_after(&self, author: DeviceId, after: u64, limit: usize) -> Result<Vec<Op>, String> {
        let log = self.logs.get(&author).map_or(&[][..], Vec::as_slice);
        Ok(log
            .iter()
            .skip(after as usize)
            .take(limit)
            .cloned()
            .collect())
    }
}

fn name(device: DeviceId) -> &'static str {
    if device == A { "A" } else { "B" }
}

fn seqs(ops: &[Op]) -> String {
    match (ops.first(), ops.last()) {
        (Some(first), Some(last)) => format!(
            "{} {}..{}",
            name(first.id.author),
            first.id.seq,
            last.id.seq
        ),
        _ => "none".into(),
    }
}

fn show_frame(frame: &SyncFrame) -> String {
    match frame {
        SyncFrame::Hello { have } => {
            let have: Vec<String> = have
                .iter()
                .map(|(d, s)| format!("{}={s}", name(*d)))
                .collect();
            format!("hello {}", have.join(" ")).trim_end().to_string()
        }
        SyncFrame::Ops { ops } => format!("ops {}", seqs(ops)),
        SyncFrame::Ack { author, up_to } => format!("ack {} {up_to}", name(*author)),
        SyncFrame::Typing => "typing".into(),
        SyncFrame::Unpair { .. } => "unpair".into(),
        SyncFrame::Whereabouts { addrs } => format!("whereabouts {}", addrs.join(" ")),
    }
}

/// Runs a script against a fresh machine and returns what it did, line by line.
fn run(script: &str) -> String {
    let mut machine = SyncMachine::new(A, B);
    let mut log = MemLog::default();
    let mut disk_fails = false;
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(&format!("> {line}\n"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let session = || machine_session(&words);
        let mut outputs = match words.as_slice() {
            ["append", n] => {
                for _ in 0..n.parse::<u64>().expect("count") {
                    log.append(A);
                }
                machine.appended(&log)
            }
            ["connect"] => machine.connected(&log),
            ["disconnect"] => {
                machine.disconnected();
                Vec::new()
            }
            ["typing"] => machine.typing(),
            ["wrote", ..] => machine.wrote(session(), &log),
            ["closed", ..] => {
                machine.writer_closed(session());
                Vec::new()
            }
            ["disk-fails"] => {
                disk_fails = true;
                Vec::new()
            }
            ["restoring"] => {
                machine.set_restoring(true);
                Vec::new()
            }
            ["partner-typing"] => machine.frame(SyncFrame::Typing, &log),
            ["hello", have @ ..] => {
                let have = have
                    .iter()
                    .map(|h| {
                        let (who, seq) = h.split_once('=').expect("who=seq");
                        (device(who), seq.parse().expect("seq"))
                    })
                    .collect();
                machine.frame(SyncFrame::Hello { have }, &log)
            }
            ["ops", who, range] => {
                let (from, to) = range.split_once("..").expect("from..to");
                let (from, to): (u64, u64) = (from.parse().expect("n"), to.parse().expect("n"));
                let ops = (from..=to).map(|seq| op(device(who), seq)).collect();
                machine.frame(SyncFrame::Ops { ops }, &log)
            }
            ["ack", who, up_to] => machine.frame(
                SyncFrame::Ack {
                    author: device(who),
                    up_to: up_to.parse().expect("seq"),
                },
                &log,
            ),
            _ => panic!("unknown script line: {line}"),
        };
        // Feed store results back as the engine does, until the machine is quiet.
        while !outputs.is_empty() {
            let mut next = Vec::new();
            for output in outputs {
                let shown = match &output {
                    Output::OpenWriter { session } => format!("open-writer {session}"),
                    Output::Send { session, frame } => {
                        format!("send {session} {}", show_frame(frame))
                    }
                    Output::Store(ops) => {
                        let result = if std::mem::take(&mut disk_fails) {
                            Stored::Failed
                        } else {
                            log.apply(ops)
                        };
                        let shown = format!("store {} -> {result:?}", seqs(ops));
                        next.extend(machine.stored(result, &log));
                        shown
                    }
                    Output::Acked { up_to } => {
                        log.acked.insert(A, *up_to);
                        format!("acked {up_to}")
                    }
                    Output::Typing => "show typing".into(),
                    Output::Violation(why) => format!("violation: {why}"),
                };
                out.push_str(&format!("  {shown}\n"));
            }
            outputs = next;
        }
    }
    let held: Vec<String> = log
        .held_all()
        .iter()
        .map(|(d, s)| format!("{}={s}", name(*d)))
        .collect();
    out.push_str(&format!(
        "held [{}] acked A={}\n",
        held.join(" "),
        log.acked(A)
    ));
    out
}

fn machine_session(words: &[&str]) -> u64 {
    words.get(1).map_or(1, |s| s.parse().expect("session"))
}

fn device(who: &str) -> DeviceId {
    match who {
        "A" => A,
        "B" => B,
        other => panic!("unknown device {other}"),
    }
}

fn check(script: &str, expect: Expect) {
    expect.assert_eq(&run(script));
}

#[test]
fn connect_sends_hello_then_what_the_partner_has_not_acknowledged() {
    check(
        "
        append 3
        connect
        hello A=1 B=0
        ack A 3
        ",
        expect![[r#"
            > append 3
            > connect
              open-writer 1
              send 1 hello A=3
              send 1 ops A 1..3
            > hello A=1 B=0
              acked 1
            > ack A 3
              acked 3
            held [A=3] acked A=3
        "#]],
    );
}

#[test]
fn writes_while_apart_wait_and_nothing_is_sent_without_a_session() {
    check(
        "
        append 2
        typing
        connect
        append 1
        ",
        expect![[r#"
            > append 2
            > typing
            > connect
              open-writer 1
              send 1 hello A=2
              send 1 ops A 1..2
            > append 1
              send 1 ops A 3..3
            held [A=3] acked A=0
        "#]],
    );
}

#[test]
fn partner_ops_are_acknowledged_only_once_durable() {
    check(
        "
        connect
        ops B 1..3
        disk-fails
        ops B 4..5
        ops B 4..6
        ",
        expect![[r#"
            > connect
              open-writer 1
              send 1 hello
            > ops B 1..3
              store B 1..3 -> Durable
              send 1 ack B 3
            > disk-fails
            > ops B 4..5
              store B 4..5 -> Failed
            > ops B 4..6
              store B 4..6 -> Durable
              send 1 ack B 6
            held [B=6] acked A=0
        "#]],
    );
}

#[test]
fn duplicates_are_stored_once_and_acknowledged_again() {
    check(
        "
        connect
        ops B 1..2
        ops B 1..2
        ops B 2..3
        ",
        expect![[r#"
            > connect
              open-writer 1
              send 1 hello
            > ops B 1..2
              store B 1..2 -> Durable
              send 1 ack B 2
            > ops B 1..2
              store B 1..2 -> Durable
              send 1 ack B 2
            > ops B 2..3
              store B 2..3 -> Durable
              send 1 ack B 3
            held [B=3] acked A=0
        "#]],
    );
}

#[test]
fn a_gap_stores_nothing_and_asks_again_from_what_is_held() {
    check(
        "
        connect
        ops B 1..2
        ops B 5..6
        ops B 3..6
        ",
        expect![[r#"
            > connect
              open-writer 1
              send 1 hello
            > ops B 1..2
              store B 1..2 -> Durable
              send 1 ack B 2
            > ops B 5..6
              store B 5..6 -> Gap
              send 1 hello B=2
            > ops B 3..6
              store B 3..6 -> Durable
              send 1 ack B 6
            held [B=6] acked A=0
        "#]],
    );
}

#[test]
fn ops_in_the_partners_frame_written_by_someone_else_are_a_violation() {
    check(
        "
        append 1
        connect
        ops A 1..1
        append 1
        connect
        ",
        expect![[r#"
            > append 1
            > connect
              open-writer 1
              send 1 hello A=1
              send 1 ops A 1..1
            > ops A 1..1
              violation: ops not written by the partner
            > append 1
            > connect
              open-writer 2
              send 2 hello A=2
              send 2 ops A 1..2
            held [A=2] acked A=0
        "#]],
    );
}

#[test]
fn an_ack_beyond_what_this_device_holds_counts_only_what_it_holds() {
    check(
        "
        append 2
        connect
        ack A 99
        hello A=50
        ack B 1
        ",
        expect![[r#"
            > append 2
            > connect
              open-writer 1
              send 1 hello A=2
              send 1 ops A 1..2
            > ack A 99
              acked 2
            > hello A=50
            > ack B 1
            held [A=2] acked A=2
        "#]],
    );
}

#[test]
fn a_reconnect_in_the_middle_of_a_batch_resends_from_the_partners_hello() {
    check(
        "
        append 300
        connect
        wrote
        disconnect
        wrote 1
        closed 1
        connect
        hello A=128
        ",
        expect![[r#"
            > append 300
            > connect
              open-writer 1
              send 1 hello A=300
              send 1 ops A 1..128
              send 1 ops A 129..256
              send 1 ops A 257..300
            > wrote
            > disconnect
            > wrote 1
            > closed 1
            > connect
              open-writer 2
              send 2 hello A=300
              send 2 ops A 1..128
              send 2 ops A 129..256
              send 2 ops A 257..300
            > hello A=128
              acked 128
            held [A=300] acked A=128
        "#]],
    );
}

#[test]
fn typing_is_shown_and_sent_but_never_stored() {
    check(
        "
        connect
        typing
        partner-typing
        ",
        expect![[r#"
            > connect
              open-writer 1
              send 1 hello
            > typing
              send 1 typing
            > partner-typing
              show typing
            held [] acked A=0
        "#]],
    );
}

/// The writer queue bounds memory: with the writer stalled, the machine stops
/// handing out frames and resumes as each is written.
#[test]
fn a_stalled_writer_holds_back_the_backlog() {
    let mut machine = SyncMachine::new(A, B);
    let mut log = MemLog::default();
    for _ in 0..BATCH_OPS * (WRITER_QUEUE + 4) {
        log.append(A);
    }
    let sends = |outputs: &[Output]| {
        outputs
            .iter()
            .filter(|o| matches!(o, Output::Send { .. }))
            .count()
    };
    let first = machine.connected(&log);
    assert_eq!(
        sends(&first),
        WRITER_QUEUE,
        "hello plus ops, up to the queue"
    );
    assert!(machine.typing().is_empty(), "typing is dropped, not queued");
    // Partner ops with a gap while the writer is full: the Hello that asks again
    // waits for room like everything else, however many such frames arrive.
    for _ in 0..3 {
        let stored = machine.stored(Stored::Gap, &log);
        assert_eq!(sends(&stored), 0, "no frame beyond the writer's queue");
    }
    let more = machine.wrote(1, &log);
    assert_eq!(sends(&more), 1, "one frame written, one more handed out");
    assert!(
        matches!(
            &more[0],
            Output::Send {
                frame: SyncFrame::Hello { .. },
                ..
            }
        ),
        "the Hello owed goes first"
    );
}

/// Both sides write, the link drops at random points (mid-batch, before acks), and
/// frames from closed sessions still arrive late. Once the link stays up, both hold
/// both logs and each knows the other holds its own.
#[test]
fn both_sides_writing_through_drops_converge() {
    for seed in 0..200u64 {
        converge(seed);
    }
}

/// One side of a simulated couple.
struct Side {
    me: DeviceId,
    machine: SyncMachine,
    log: MemLog,
}

/// Frames on their way between two sides.
#[derive(Default)]
struct Link {
    /// Frames written, on their way to side i.
    wires: [Vec<SyncFrame>; 2],
    /// Frames handed to side i's writer, not written yet.
    writers: [Vec<(u64, SyncFrame)>; 2],
}

impl Link {
    /// Side `i`'s writer writes its oldest frame; false if it had none.
    fn write(&mut self, sides: &mut [Side; 2], i: usize, seed: u64) -> bool {
        if self.writers[i].is_empty() {
            return false;
        }
        let (session, frame) = self.writers[i].remove(0);
        self.wires[1 - i].push(frame);
        let out = sides[i].machine.wrote(session, &sides[i].log);
        self.carry(sides, i, out, seed);
        true
    }

    /// Side `i` reads the oldest frame on its way to it; false if there was none.
    fn deliver(&mut self, sides: &mut [Side; 2], i: usize, seed: u64) -> bool {
        if self.wires[i].is_empty() {
            return false;
        }
        let frame = self.wires[i].remove(0);
        let out = sides[i].machine.frame(frame, &sides[i].log);
        self.carry(sides, i, out, seed);
        true
    }

    /// Does what side `i`'s machine asked, as the engine would.
    fn carry(&mut self, sides: &mut [Side; 2], i: usize, outputs: Vec<Output>, seed: u64) {
        for output in outputs {
            match output {
                Output::OpenWriter { .. } | Output::Typing => {}
                Output::Send { session, frame } => self.writers[i].push((session, frame)),
                Output::Store(ops) => {
                    let result = sides[i].log.apply(&ops);
                    let out = sides[i].machine.stored(result, &sides[i].log);
                    self.carry(sides, i, out, seed);
                }
                Output::Acked { up_to } => {
                    let me = sides[i].me;
                    assert!(up_to <= sides[i].log.held(me), "seed {seed}: acked ahead");
                    sides[i].log.acked.insert(me, up_to);
                }
                Output::Violation(why) => panic!("seed {seed}: violation {why}"),
            }
        }
    }
}

fn converge(seed: u64) {
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut roll = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let mut sides = [
        Side {
            me: A,
            machine: SyncMachine::new(A, B),
            log: MemLog::default(),
        },
        Side {
            me: B,
            machine: SyncMachine::new(B, A),
            log: MemLog::default(),
        },
    ];
    // Frames written and on their way to side i; frames handed to side i's writer.
    let mut link = Link::default();
    let mut up = false;
    for step in 0..600 {
        let settle = step >= 400;
        let who = roll(2) as usize;
        match roll(10) {
            0 | 1 if !settle => {
                let me = sides[who].me;
                for _ in 0..=roll(150) {
                    sides[who].log.append(me);
                }
                let out = sides[who].machine.appended(&sides[who].log);
                link.carry(&mut sides, who, out, seed);
            }
            2 if !settle && up => {
                up = false;
                for (i, side) in sides.iter_mut().enumerate() {
                    side.machine.disconnected();
                    // Half the time frames already written still arrive late.
                    if roll(2) == 0 {
                        link.wires[1 - i].clear();
                    }
                    link.writers[i].clear();
                }
            }
            _ if !up => {
                up = true;
                for i in 0..2 {
                    let out = sides[i].machine.connected(&sides[i].log);
                    link.carry(&mut sides, i, out, seed);
                }
            }
            3..=6 => {
                link.write(&mut sides, who, seed);
            }
            _ => {
                link.deliver(&mut sides, who, seed);
            }
        }
    }
    // Let the link run until nothing moves.
    while link.write(&mut sides, 0, seed)
        | link.write(&mut sides, 1, seed)
        | link.deliver(&mut sides, 0, seed)
        | link.deliver(&mut sides, 1, seed)
    {}
    for i in 0..2 {
        let me = sides[i].me;
        let mine = sides[i].log.held(me);
        assert_eq!(
            sides[1 - i].log.held(me),
            mine,
            "seed {seed}: the partner holds all of {}'s log",
            name(me)
        );
        assert_eq!(
            sides[i].log.acked(me),
            mine,
            "seed {seed}: {} knows it was all delivered",
            name(me)
        );
        assert_eq!(
            sides[1 - i].log.logs.get(&me),
            sides[i].log.logs.get(&me),
            "seed {seed}: same ops in the same order"
        );
    }
}

/// Photo messages carry thumbnails up to 32 KiB: 300 of them go out in frames that
/// each fit the frame limit and decode, every op exactly once and in order. (In
/// batches of 128 the first frame was over 4 MiB, failed, and was sent again forever.)
#[test]
fn batches_fit_the_frame_limit_whatever_the_ops() {
    use hearth_core::wire;
    use hearth_core::{Attachment, Thumbnail, limits};
    let mut log = MemLog::default();
    let photos: Vec<Op> = (1..=300)
        .map(|seq| Op {
            id: OpId { author: A, seq },
            lamport: Lamport(seq),
            wall_ms: 0,
            body: OpBody::Attachment(Attachment {
                name: "p.jpg".into(),
                mime: "image/jpeg".into(),
                size: 1,
                hash: [1; 32],
                chunk_size: 16 * 1024,
                chunks_root: [1; 32],
                thumbnail: Some(Thumbnail {
                    width: 320,
                    height: 240,
                    jpeg: vec![0xFF; limits::MAX_THUMBNAIL_BYTES],
                }),
                view_once: false,
                expires_after_open_secs: None,
            }),
        })
        .collect();
    log.logs.insert(A, photos);
    let mut machine = SyncMachine::new(A, B);
    let mut sent = Vec::new();
    let mut outputs = machine.connected(&log);
    let mut session = 0;
    for _ in 0..1000 {
        let mut frames = 0;
        for output in outputs.drain(..) {
            if let Output::OpenWriter { session: s } = output {
                session = s;
            }
            if let Output::Send {
                frame: frame @ SyncFrame::Ops { .. },
                ..
            } = output
            {
                let bytes = wire::encode_frame(&frame);
                assert!(
                    bytes.len() <= wire::MAX_FRAME_BYTES,
                    "{} bytes",
                    bytes.len()
                );
                let Ok(SyncFrame::Ops { ops }) = wire::decode_frame(&bytes) else {
                    panic!("a frame of photos does not decode");
                };
                sent.extend(ops.iter().map(|op| op.id.seq));
                frames += 1;
            }
        }
        if sent.len() == 300 {
            break;
        }
        // The writer wrote whatever was handed to it.
        outputs = machine.wrote(session, &log);
        if frames == 0 && outputs.is_empty() {
            outputs = machine.wrote(session, &log);
        }
    }
    assert_eq!(sent, (1..=300).collect::<Vec<_>>());
}

/// A restored device takes the end of its own log back from the partner's, and
/// counts it as held there: nothing of it is acknowledged or sent back. A device
/// not restored calls the same frame a violation.
#[test]
fn a_restored_device_takes_its_own_ops_back_from_the_partner() {
    check(
        "
        append 2
        restoring
        connect
        hello A=5 B=0
        ops A 3..5
        append 1
        ",
        expect![[r#"
            > append 2
            > restoring
            > connect
              open-writer 1
              send 1 hello A=2
              send 1 ops A 1..2
            > hello A=5 B=0
              acked 2
            > ops A 3..5
              store A 3..5 -> Durable
              acked 5
            > append 1
              send 1 ops A 6..6
            held [A=6] acked A=5
        "#]],
    );
    check(
        "
        append 2
        connect
        hello A=5 B=0
        ops A 3..5
        ",
        expect![[r#"
            > append 2
            > connect
              open-writer 1
              send 1 hello A=2
              send 1 ops A 1..2
            > hello A=5 B=0
              acked 2
            > ops A 3..5
              violation: ops not written by the partner
            held [A=2] acked A=2
        "#]],
    );
}

/// The partner holds less of its own log than this device does (it was restored
/// from a backup): the rest goes back to it, after this device's own ops, once.
#[test]
fn a_partner_that_lacks_its_own_ops_gets_them_back() {
    check(
        "
        connect
        ops B 1..5
        wrote
        wrote
        disconnect
        append 1
        connect
        hello A=0 B=2
        wrote
        wrote
        wrote
        hello A=1 B=5
        ",
        expect![[r#"
            > connect
              open-writer 1
              send 1 hello
            > ops B 1..5
              store B 1..5 -> Durable
              send 1 ack B 5
            > wrote
            > wrote
            > disconnect
            > append 1
            > connect
              open-writer 2
              send 2 hello A=1 B=5
              send 2 ops A 1..1
            > hello A=0 B=2
              send 2 ops B 3..5
            > wrote
            > wrote
            > wrote
            > hello A=1 B=5
              acked 1
            held [A=1 B=5] acked A=1
        "#]],
    );
}
