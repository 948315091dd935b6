//! Hearth-core at its boundary: the wire format and how ops merge into a timeline.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used)]

use hearth_core::wire::{self, DecodeError, FileFrame, PairFrame, PairRefusal, SyncFrame};
use hearth_core::{
    Boundaries, BoundaryProposal, CheckIn, CheckInChange, CheckIns, CivilDate, DayChange, DayKey,
    DayKind, Days, DeviceId, Lamport, MessageState, MoodShare, Moods, Op, OpBody, OpId,
    ProfileChange, QuietHours, Timeline, is_reaction_emoji, limits, mood_code, mood_name,
};
use proptest::prelude::*;

const ALICE: DeviceId = DeviceId([1; 32]);
const BOB: DeviceId = DeviceId([2; 32]);

fn text(author: DeviceId, seq: u64, lamport: u64, text: &str) -> Op {
    Op {
        id: OpId { author, seq },
        lamport: Lamport(lamport),
        wall_ms: 1_700_000_000_000,
        body: OpBody::Text {
            text: text.into(),
            reply_to: None,
        },
    }
}

#[test]
fn every_op_kind_round_trips() {
    let target = OpId {
        author: ALICE,
        seq: 1,
    };
    let bodies = [
        OpBody::Text {
            text: "Mirëmëngjes, zemër ☀️".into(),
            reply_to: Some(target),
        },
        OpBody::Edit {
            target,
            text: "çdo ditë".into(),
        },
        OpBody::Delete { target },
        OpBody::ReactionAdd {
            target,
            emoji: "❤️".into(),
        },
        OpBody::ReactionRemove {
            target,
            emoji: "❤️".into(),
        },
        OpBody::ReadMarker { up_to: target },
        OpBody::FileReady {
            target,
            hash: [3; 32],
            chunks_root: [4; 32],
        },
        OpBody::Profile(ProfileChange {
            name: Some("Arta".into()),
            language: Some("sq".into()),
            time_zone: Some("Europe/Tirane".into()),
        }),
        OpBody::Erased(hearth_core::Erased {
            kind: 8,
            view_once: true,
            expires_after_open_secs: Some(60),
        }),
        OpBody::Day(DayChange {
            kind: DayKind::Anniversary,
            entry: Some(target),
            date: CivilDate::new(2024, 2, 29),
            title: "Dita kur u njohëm".into(),
        }),
        OpBody::Mood(MoodShare {
            mood: 4,
            note: "më mungon".into(),
            day: CivilDate::new(2026, 12, 6).unwrap(),
        }),
        OpBody::BoundaryProposal(BoundaryProposal {
            quiet: vec![(ALICE, QuietHours::parse("22:30", "07:00")), (BOB, None)],
            reach: vec![(ALICE, "mesazh, jo telefonata pas punës".into())],
            care: Some("familja".into()),
            media: None,
            view_once: Some(true),
        }),
        OpBody::BoundaryAccept { proposal: target },
        OpBody::Urgent { target },
        OpBody::Scheduled {
            text: "mirëmëngjes, zemër".into(),
            reply_to: Some(target),
            reveal_at_ms: 1_800_000_000_000,
        },
        OpBody::CheckIn(CheckInChange {
            entry: Some(target),
            checkin: Some(CheckIn {
                weekdays: 1 << 6,
                minute: 20 * 60,
                zone: "Europe/Tirane".into(),
            }),
        }),
        OpBody::Unsupported {
            kind: 900,
            payload: vec![1, 2, 3],
        },
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let op = Op {
            id: OpId {
                author: BOB,
                seq: i as u64 + 1,
            },
            lamport: Lamport(u64::MAX),
            wall_ms: i64::MIN,
            body,
        };
        assert!(wire::encode_op(&op).len() <= op.size_bound(), "{op:?}");
        assert_eq!(wire::decode_op(&wire::encode_op(&op)), Ok(op));
    }
}

#[test]
fn bad_bytes_are_typed_errors() {
    assert_eq!(wire::decode_op(&[]), Err(DecodeError::Empty));
    assert_eq!(
        wire::decode_op(&[9, 0, 0]),
        Err(DecodeError::UnsupportedVersion(9))
    );
    let huge = vec![wire::VERSION; wire::MAX_OP_BYTES + 1];
    assert!(matches!(
        wire::decode_op(&huge),
        Err(DecodeError::TooLarge { .. })
    ));
    let mut trailing = wire::encode_op(&text(ALICE, 1, 1, "hi"));
    trailing.push(0);
    assert!(matches!(
        wire::decode_op(&trailing),
        Err(DecodeError::Malformed(_))
    ));
    // Sequence numbers start at 1: a zero is a peer's lie, not an op.
    let zero = wire::encode_op(&text(ALICE, 1, 1, "hi"));
    let mut op = wire::decode_op(&zero).unwrap();
    op.id.seq = 0;
    assert!(wire::decode_op(&wire::encode_op(&op)).is_err());
}

#[test]
fn limits_hold_on_decode() {
    let long = text(
        ALICE,
        1,
        1,
        &"a".repeat(hearth_core::limits::MAX_TEXT_BYTES + 1),
    );
    assert!(matches!(
        wire::decode_op(&wire::encode_op(&long)),
        Err(DecodeError::Malformed(_))
    ));
    let frame = SyncFrame::Ops {
        ops: (1..=wire::MAX_BATCH_OPS as u64 + 1)
            .map(|s| text(ALICE, s, s, "x"))
            .collect(),
    };
    assert!(wire::decode_frame(&wire::encode_frame(&frame)).is_err());
}

/// A message that announces more entries than fit is refused from its first bytes,
/// before anything is built; the layouts this reads are pinned here.
#[test]
fn counts_are_checked_before_decoding() {
    use hearth_core::wire::FileFrame;
    // Ops announcing 100 000, with nothing after.
    assert_eq!(
        wire::decode_frame(&[wire::VERSION, 1, 0xa0, 0x8d, 0x06]),
        Err(DecodeError::TooMany {
            count: 100_000,
            max: wire::MAX_BATCH_OPS
        })
    );
    assert_eq!(
        wire::encode_frame(&SyncFrame::Ops { ops: vec![] }),
        [wire::VERSION, 1, 0]
    );
    assert_eq!(
        wire::encode_frame(&SyncFrame::Hello { have: vec![] }),
        [wire::VERSION, 0, 0]
    );
    assert_eq!(
        wire::encode_frame(&SyncFrame::Whereabouts { addrs: vec![] }),
        [wire::VERSION, 5, 0]
    );
    assert_eq!(
        wire::decode_frame(&[wire::VERSION, 5, 0xa0, 0x8d, 0x06]),
        Err(DecodeError::TooMany {
            count: 100_000,
            max: wire::MAX_WHEREABOUTS
        })
    );
    let seventeen = SyncFrame::Whereabouts {
        addrs: vec!["/ip4/192.0.2.1/tcp/1".into(); wire::MAX_WHEREABOUTS + 1],
    };
    assert!(wire::decode_frame(&wire::encode_frame(&seventeen)).is_err());
    let long = SyncFrame::Whereabouts {
        addrs: vec![format!("/dns/{}/tcp/1", "a".repeat(wire::MAX_ADDR_TEXT))],
    };
    assert!(wire::decode_frame(&wire::encode_frame(&long)).is_err());
    let id = OpId {
        author: ALICE,
        seq: 300,
    };
    let mut ask = wire::encode(&FileFrame::GetChunks { id, chunks: vec![] });
    assert_eq!(ask.len(), 1 + 1 + 32 + 2 + 1, "{ask:?}");
    // Announce five million chunk indexes.
    ask.truncate(ask.len() - 1);
    ask.extend([0xc0, 0x96, 0xb1, 0x02]);
    assert!(matches!(
        wire::decode_file(&ask),
        Err(DecodeError::TooMany {
            count: 5_000_000,
            ..
        })
    ));
    let mut manifest = wire::encode(&FileFrame::Manifest(vec![]));
    assert_eq!(manifest, [wire::VERSION, 2, 0]);
    manifest.truncate(2);
    manifest.extend([0xc0, 0x96, 0xb1, 0x02]);
    assert!(matches!(
        wire::decode_file(&manifest),
        Err(DecodeError::TooMany {
            count: 5_000_000,
            ..
        })
    ));
    // Within the limits, still fine.
    let fine = FileFrame::GetChunks {
        id,
        chunks: vec![1, 2, 3],
    };
    assert_eq!(wire::decode_file(&wire::encode(&fine)), Ok(fine));
}

#[test]
fn only_the_author_edits_or_deletes() {
    let mut timeline = Timeline::default();
    let original = text(ALICE, 1, 1, "original");
    timeline.apply(&original);
    timeline.apply(&Op {
        id: OpId {
            author: BOB,
            seq: 1,
        },
        lamport: Lamport(2),
        wall_ms: 0,
        body: OpBody::Edit {
            target: original.id,
            text: "forged".into(),
        },
    });
    timeline.apply(&Op {
        id: OpId {
            author: BOB,
            seq: 2,
        },
        lamport: Lamport(3),
        wall_ms: 0,
        body: OpBody::Delete {
            target: original.id,
        },
    });
    assert_eq!(timeline.messages()[0].text(), Some("original"));
}

#[test]
fn every_pair_and_file_message_round_trips() {
    let id = OpId {
        author: ALICE,
        seq: 7,
    };
    for frame in [
        PairFrame::Probe,
        PairFrame::Available {
            name: "Arta".into(),
            showing_code: true,
        },
        PairFrame::Unavailable(PairRefusal::Busy),
        PairFrame::Start(vec![1, 2, 3]),
        PairFrame::Step(vec![4; 96]),
        PairFrame::Failed,
    ] {
        assert_eq!(wire::decode_pair(&wire::encode(&frame)), Ok(frame));
    }
    for frame in [
        FileFrame::GetManifest(id),
        FileFrame::GetChunks {
            id,
            chunks: vec![0, 3, 9],
        },
        FileFrame::Manifest(vec![[7; 32]; 3]),
        FileFrame::Chunk {
            index: 2,
            data: vec![0xab; 1024 * 1024],
        },
        FileFrame::End,
        FileFrame::Unavailable("the file is gone".into()),
    ] {
        assert_eq!(wire::decode_file(&wire::encode(&frame)), Ok(frame));
    }
}

#[test]
fn pair_and_file_messages_over_their_limits_are_refused() {
    let id = OpId {
        author: BOB,
        seq: 1,
    };
    let long_name = PairFrame::Available {
        name: "a".repeat(wire::MAX_PAIR_NAME_BYTES + 1),
        showing_code: false,
    };
    assert!(matches!(
        wire::decode_pair(&wire::encode(&long_name)),
        Err(DecodeError::Malformed(_))
    ));
    let huge_step = PairFrame::Step(vec![0; wire::MAX_PAIR_FRAME_BYTES]);
    assert!(matches!(
        wire::decode_pair(&wire::encode(&huge_step)),
        Err(DecodeError::TooLarge { .. })
    ));
    let too_many = FileFrame::GetChunks {
        id,
        chunks: vec![0; hearth_core::limits::MAX_CHUNKS as usize + 1],
    };
    assert!(wire::decode_file(&wire::encode(&too_many)).is_err());
    let big_chunk = FileFrame::Chunk {
        index: 0,
        data: vec![0; *hearth_core::limits::CHUNK_BYTES_RANGE.end() as usize + 1],
    };
    assert!(wire::decode_file(&wire::encode(&big_chunk)).is_err());
    let long_reason = FileFrame::Unavailable("x".repeat(wire::MAX_UNAVAILABLE_BYTES + 1));
    assert!(matches!(
        wire::decode_file(&wire::encode(&long_reason)),
        Err(DecodeError::Malformed(_))
    ));
    // A version this build does not know.
    let mut future = wire::encode(&FileFrame::End);
    future[0] = wire::VERSION + 1;
    assert_eq!(
        wire::decode_file(&future),
        Err(DecodeError::UnsupportedVersion(wire::VERSION + 1))
    );
}

/// Mailbox messages and letters round-trip; too many letters, a letter over the
/// limit, or a letter announcing more chunk hashes than a file has, are refused
/// before they are built.
#[test]
fn mailbox_messages_and_letters_keep_to_their_limits() {
    use hearth_core::wire::{Letter, MailboxFrame, MailboxRefusal};
    use serde_bytes::ByteBuf;
    let frames = [
        MailboxFrame::Join { proof: [7; 32] },
        MailboxFrame::Deposit {
            to: BOB,
            letters: vec![ByteBuf::from(vec![1, 2, 3]), ByteBuf::from(vec![4])],
        },
        MailboxFrame::Fetch {
            ack: 12,
            wait_ms: 20_000,
        },
        MailboxFrame::Joined,
        MailboxFrame::Stored,
        MailboxFrame::Letters {
            letters: vec![(13, ByteBuf::from(vec![9; 100]))],
            more: true,
            waiting: 2,
        },
        MailboxFrame::Refused(MailboxRefusal::Full),
        MailboxFrame::Leave,
        MailboxFrame::Left,
    ];
    for frame in frames {
        assert_eq!(wire::decode_mailbox(&wire::encode(&frame)), Ok(frame));
    }
    // A deposit announcing 100 000 letters, with nothing after.
    let mut deposit = wire::encode(&MailboxFrame::Deposit {
        to: BOB,
        letters: vec![],
    });
    assert_eq!(deposit.len(), 1 + 1 + 32 + 1, "{deposit:?}");
    deposit.truncate(deposit.len() - 1);
    deposit.extend([0xa0, 0x8d, 0x06]);
    assert_eq!(
        wire::decode_mailbox(&deposit),
        Err(DecodeError::TooMany {
            count: 100_000,
            max: wire::MAX_LETTERS
        })
    );
    let mut answer = wire::encode(&MailboxFrame::Letters {
        letters: vec![],
        more: false,
        waiting: 0,
    });
    assert_eq!(answer[..3], [wire::VERSION, 5, 0]);
    answer.truncate(2);
    answer.extend([0xa0, 0x8d, 0x06]);
    assert!(matches!(
        wire::decode_mailbox(&answer),
        Err(DecodeError::TooMany { count: 100_000, .. })
    ));
    let oversized = MailboxFrame::Deposit {
        to: BOB,
        letters: vec![ByteBuf::from(vec![0; wire::MAX_LETTER_BYTES + 1])],
    };
    assert!(matches!(
        wire::decode_mailbox(&wire::encode(&oversized)),
        Err(DecodeError::TooLarge { .. })
    ));

    let id = OpId {
        author: ALICE,
        seq: 3,
    };
    let letters = [
        Letter::Ops {
            held: vec![(ALICE, 3), (BOB, 9)],
            ops: vec![text(ALICE, 3, 3, "hi")],
        },
        Letter::Manifest {
            id,
            hashes: vec![[1; 32]; 3],
        },
        Letter::Chunk {
            id,
            index: 2,
            data: vec![5; 1000],
        },
        Letter::Resend { held: 41 },
    ];
    for letter in letters {
        assert_eq!(wire::decode_letter(&wire::encode(&letter)), Ok(letter));
    }
    let mut manifest = wire::encode(&Letter::Manifest { id, hashes: vec![] });
    manifest.truncate(manifest.len() - 1);
    manifest.extend([0xc0, 0x96, 0xb1, 0x02]);
    assert!(matches!(
        wire::decode_letter(&manifest),
        Err(DecodeError::TooMany {
            count: 5_000_000,
            ..
        })
    ));
    let too_many_ops = Letter::Ops {
        held: vec![],
        ops: (1..=wire::MAX_BATCH_OPS as u64 + 1)
            .map(|seq| text(ALICE, seq, seq, "x"))
            .collect(),
    };
    assert!(wire::decode_letter(&wire::encode(&too_many_ops)).is_err());
}

#[test]
fn garbage_never_panics() {
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
            let _ = wire::decode_op(&bytes);
            let _ = wire::decode_frame(&bytes);
            let _ = wire::decode_pair(&bytes);
            let _ = wire::decode_file(&bytes);
            let _ = wire::decode_mailbox(&bytes);
            let _ = wire::decode_letter(&bytes);
            Ok(())
        })
        .unwrap();
}

/// A random op by Alice or Bob on a small shared history, so edits, deletes and
/// reactions often hit real messages.
fn arb_op() -> impl Strategy<Value = Op> {
    let author = prop_oneof![Just(ALICE), Just(BOB)];
    let target = (prop_oneof![Just(ALICE), Just(BOB)], 1..6u64)
        .prop_map(|(author, seq)| OpId { author, seq });
    let emoji = prop_oneof![
        Just("❤️".to_string()),
        Just("😂".to_string()),
        Just("👍🏽".to_string()),
        Just("🇦🇱".to_string()),
        Just("🔥".to_string()),
        Just("🥹".to_string()),
        Just("🌙".to_string()),
        Just("ok".to_string()),
    ];
    let body = prop_oneof![
        3 => "[a-zë ]{1,12}".prop_map(|t| OpBody::Text { text: format!("m{t}"), reply_to: None }),
        1 => (target.clone(), "[a-z]{1,8}").prop_map(|(target, t)| OpBody::Edit { target, text: format!("e{t}") }),
        1 => target.clone().prop_map(|target| OpBody::Delete { target }),
        1 => (target.clone(), emoji.clone()).prop_map(|(target, emoji)| OpBody::ReactionAdd { target, emoji }),
        1 => (target, emoji).prop_map(|(target, emoji)| OpBody::ReactionRemove { target, emoji }),
    ];
    (author, 1..12u64, 1..20u64, body).prop_map(|(author, seq, lamport, body)| Op {
        id: OpId { author, seq },
        lamport: Lamport(lamport),
        wall_ms: 0,
        body,
    })
}

/// Keeps one op per id, as a real log has.
fn unique(ops: Vec<Op>) -> Vec<Op> {
    let mut seen = std::collections::HashSet::new();
    ops.into_iter().filter(|op| seen.insert(op.id)).collect()
}

#[test]
fn a_reaction_is_one_real_emoji() {
    for good in ["❤", "❤️", "👍🏽", "👨‍👩‍👧", "🇦🇱", "1️⃣", "⭐", "😂"]
    {
        assert!(is_reaction_emoji(good), "{good:?} refused");
    }
    for bad in [
        "",
        "ok",
        "❤❤",
        "a\u{200d}b",
        " ❤",
        "❤\n",
        "😂😂",
        "lol 😂",
        "\u{1F600}\u{0301}x",
    ] {
        assert!(!is_reaction_emoji(bad), "{bad:?} accepted");
    }
}

/// Twenty thousand reactions by one device on one message: a few stay, the newest,
/// and the state stays small.
#[test]
fn reactions_on_a_message_are_few_whatever_is_sent() {
    let target = OpId {
        author: ALICE,
        seq: 1,
    };
    let emoji: Vec<String> = ('\u{1F300}'..='\u{1F5FF}').map(String::from).collect();
    let mut state = MessageState::default();
    for seq in 1..=20_000u64 {
        let op = Op {
            id: OpId { author: BOB, seq },
            lamport: Lamport(seq),
            wall_ms: 0,
            body: OpBody::ReactionAdd {
                target,
                emoji: if seq % 3 == 0 {
                    // Not an emoji at all: ignored.
                    format!("{seq:060}")
                } else {
                    emoji[(seq as usize) % emoji.len()].clone()
                },
            },
        };
        state.apply(target, &op);
    }
    let reactions = state.reactions();
    assert_eq!(reactions.len(), limits::MAX_REACTIONS_PER_PERSON);
    assert!(reactions.iter().all(|r| is_reaction_emoji(&r.emoji)));
    // The newest: seq 20000 (its emoji) is among them.
    assert!(
        reactions
            .iter()
            .any(|r| r.emoji == emoji[20_000 % emoji.len()])
    );
    assert!(wire::encode(&state).len() <= limits::MAX_STATE_BYTES);
}

/// Reactions a person removed do not push out the ones they still show: with five
/// shown and three added then taken back, a new one makes six, all shown. A seventh
/// replaces the oldest.
#[test]
fn removed_reactions_leave_room_for_new_ones() {
    let target = OpId {
        author: ALICE,
        seq: 1,
    };
    let mut state = MessageState::default();
    let mut seq = 0u64;
    let mut react = |state: &mut MessageState, emoji: &str, add: bool| {
        seq += 1;
        let op = Op {
            id: OpId { author: BOB, seq },
            lamport: Lamport(seq),
            wall_ms: 0,
            body: if add {
                OpBody::ReactionAdd {
                    target,
                    emoji: emoji.into(),
                }
            } else {
                OpBody::ReactionRemove {
                    target,
                    emoji: emoji.into(),
                }
            },
        };
        state.apply(target, &op);
    };
    let shown = |state: &MessageState| {
        let mut emoji: Vec<String> = state.reactions().into_iter().map(|r| r.emoji).collect();
        emoji.sort();
        emoji
    };
    for emoji in ["❤️", "😂", "🔥", "🌙", "⭐"] {
        react(&mut state, emoji, true);
    }
    for emoji in ["🎉", "🙏", "😢"] {
        react(&mut state, emoji, true);
        react(&mut state, emoji, false);
    }
    react(&mut state, "🇦🇱", true);
    let mut expected = vec!["❤️", "😂", "🔥", "🌙", "⭐", "🇦🇱"];
    expected.sort();
    assert_eq!(shown(&state), expected);
    react(&mut state, "🌹", true);
    assert_eq!(state.reactions().len(), limits::MAX_REACTIONS_PER_PERSON);
    assert!(
        !shown(&state).contains(&"❤️".to_string()),
        "the oldest went"
    );
    assert!(shown(&state).contains(&"🌹".to_string()));
}

proptest! {
    /// However many reactions come, in whatever order, both devices keep the same.
    #[test]
    fn reactions_keep_the_newest_few_in_any_order(
        picks in proptest::collection::vec((0..24usize, any::<bool>(), 1..200u64), 1..80),
        shuffle_seed in any::<u64>(),
    ) {
        let target = OpId { author: ALICE, seq: 1 };
        let emoji = [
            "❤️", "😂", "👍🏽", "🇦🇱", "🔥", "🥹", "🌙", "⭐", "🎉", "🙏", "😍", "😢",
            "😮", "😡", "👏", "💯", "🌹", "☕", "🍕", "🎶", "🐱", "🌊", "🏔", "✈",
        ];
        let ops: Vec<Op> = picks.iter().enumerate().map(|(i, &(e, add, lamport))| Op {
            id: OpId { author: BOB, seq: i as u64 + 1 },
            lamport: Lamport(lamport),
            wall_ms: 0,
            body: if add {
                OpBody::ReactionAdd { target, emoji: emoji[e].into() }
            } else {
                OpBody::ReactionRemove { target, emoji: emoji[e].into() }
            },
        }).collect();
        let mut in_order = MessageState::default();
        for op in &ops {
            in_order.apply(target, op);
        }
        let shuffled = shuffled_with_repeats(&ops, 3, shuffle_seed);
        let mut replayed = MessageState::default();
        for op in &shuffled {
            replayed.apply(target, op);
        }
        prop_assert_eq!(&replayed, &in_order);
        prop_assert!(in_order.reactions().len() <= limits::MAX_REACTIONS_PER_PERSON);
    }

    #[test]
    fn ops_round_trip(op in arb_op()) {
        prop_assert!(wire::encode_op(&op).len() <= op.size_bound());
        prop_assert_eq!(wire::decode_op(&wire::encode_op(&op)), Ok(op));
    }

    #[test]
    fn any_order_with_duplicates_gives_the_same_timeline(
        ops in proptest::collection::vec(arb_op(), 0..40),
        shuffle_seed in any::<u64>(),
        dup_every in 1..5usize,
    ) {
        let ops = unique(ops);
        let mut in_order = Timeline::default();
        for op in &ops {
            in_order.apply(op);
        }

        // The same ops, shuffled, with some delivered twice.
        let mut replayed: Vec<Op> = ops.clone();
        replayed.extend(ops.iter().step_by(dup_every).cloned());
        let mut state = shuffle_seed | 1;
        for i in (1..replayed.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            replayed.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut shuffled = Timeline::default();
        for op in &replayed {
            shuffled.apply(op);
        }
        prop_assert_eq!(in_order.messages(), shuffled.messages());
    }
}

#[test]
fn days_are_dates_of_the_calendar() {
    assert_eq!(CivilDate::parse("2024-02-29"), CivilDate::new(2024, 2, 29));
    assert_eq!(
        CivilDate::parse("2024-02-29").unwrap().to_string(),
        "2024-02-29"
    );
    for bad in [
        "2023-02-29",
        "2024-13-01",
        "2024-04-31",
        "24-01-01",
        "2024-1-1",
        "",
        "x",
    ] {
        assert_eq!(CivilDate::parse(bad), None, "{bad}");
    }
    let d = |text| CivilDate::parse(text).unwrap();
    assert_eq!(d("1970-01-01").day_number(), 0);
    assert_eq!(
        d("2000-03-01").day_number() - d("2000-02-28").day_number(),
        2
    );
    assert_eq!(
        d("2027-01-10").day_number() - d("2026-12-29").day_number(),
        12
    );
    // Every year: later this year, next year, and the 29th of February on the 28th.
    assert_eq!(
        d("2019-12-31").next_yearly(d("2026-12-04")),
        d("2026-12-31")
    );
    assert_eq!(
        d("2019-03-08").next_yearly(d("2026-12-04")),
        d("2027-03-08")
    );
    assert_eq!(
        d("2024-02-29").next_yearly(d("2026-12-04")),
        d("2027-02-28")
    );
    assert_eq!(
        d("2024-02-29").next_yearly(d("2027-12-04")),
        d("2028-02-29")
    );
    assert_eq!(
        d("2020-12-04").next_yearly(d("2026-12-04")),
        d("2026-12-04")
    );
    // A peer's day that is no date, or a title past the limit, is refused.
    let day = |date, title: &str| {
        OpBody::Day(DayChange {
            kind: DayKind::Meeting,
            entry: None,
            date,
            title: title.into(),
        })
    };
    let impossible = CivilDate {
        year: 2025,
        month: 2,
        day: 30,
    };
    assert!(day(Some(impossible), "").validate().is_err());
    assert!(
        day(None, &"a".repeat(limits::MAX_DAY_TITLE_BYTES + 1))
            .validate()
            .is_err()
    );
    assert!(day(None, "Tirana").validate().is_ok());
}

#[test]
fn a_removed_day_stays_removed_when_an_older_change_comes_late() {
    let op = |author, seq, lamport, date: Option<CivilDate>| Op {
        id: OpId { author, seq },
        lamport: Lamport(lamport),
        wall_ms: 0,
        body: OpBody::Day(DayChange {
            kind: DayKind::Meeting,
            entry: None,
            date,
            title: "Tirana".into(),
        }),
    };
    let set = op(ALICE, 1, 5, CivilDate::new(2027, 1, 10));
    let removed = op(BOB, 1, 6, None);
    let mut days = Days::default();
    assert!(days.apply(&removed));
    assert!(!days.apply(&set), "an older change does not win");
    assert_eq!(days.get(DayKey::Meeting), None);
    assert_eq!(days.entries().count(), 0);
}

proptest! {
    /// Both partners set, change and remove days offline; whatever order their ops
    /// reach each device in, with repeats, both hold the same days.
    #[test]
    fn days_converge_in_any_order(
        changes in proptest::collection::vec(
            (any::<bool>(), 0..3u8, 0..4usize, proptest::option::weighted(0.8, 1..28u8), 1..50u64),
            1..60,
        ),
        shuffle_seed in any::<u64>(),
    ) {
        let mut seqs = [0u64; 2];
        let mut ops: Vec<Op> = Vec::new();
        for (by_bob, kind, entry, day, lamport) in changes {
            let author = if by_bob { BOB } else { ALICE };
            let seq = &mut seqs[usize::from(by_bob)];
            *seq += 1;
            let kind = [DayKind::TogetherSince, DayKind::Meeting, DayKind::Anniversary][usize::from(kind)];
            // An anniversary change names one added earlier, or adds a new one.
            let entry = ops.iter().filter(|o| matches!(&o.body, OpBody::Day(d)
                if d.kind == DayKind::Anniversary && d.entry.is_none())).nth(entry).map(|o| o.id);
            ops.push(Op {
                id: OpId { author, seq: *seq },
                lamport: Lamport(lamport),
                wall_ms: 0,
                body: OpBody::Day(DayChange {
                    kind,
                    entry,
                    date: day.and_then(|d| CivilDate::new(2020, 6, d)),
                    title: format!("{kind:?} {lamport}"),
                }),
            });
        }
        let mut in_order = Days::default();
        for op in &ops {
            in_order.apply(op);
        }
        let shuffled = shuffled_with_repeats(&ops, 2, shuffle_seed);
        let mut replayed = Days::default();
        for op in &shuffled {
            replayed.apply(op);
        }
        prop_assert_eq!(&replayed, &in_order);
        // The winner of each entry is its latest change in the timeline's order.
        if let Some(latest) = ops.iter().filter(|o| matches!(&o.body, OpBody::Day(d)
            if d.kind == DayKind::Meeting)).max_by_key(|o| o.pos())
        {
            let OpBody::Day(d) = &latest.body else { unreachable!() };
            prop_assert_eq!(in_order.get(DayKey::Meeting).map(|e| e.date), d.date.map(Some));
        }
    }
}

fn mood(author: DeviceId, seq: u64, lamport: u64, code: u8, day: u8) -> Op {
    Op {
        id: OpId { author, seq },
        lamport: Lamport(lamport),
        wall_ms: 1_700_000_000_000 + i64::from(day) * 86_400_000,
        body: OpBody::Mood(MoodShare {
            mood: code,
            note: String::new(),
            day: CivilDate::new(2026, 11, day).unwrap(),
        }),
    }
}

#[test]
fn a_mood_is_a_row_of_the_timeline_and_the_strip_keeps_each_days_last() {
    assert_eq!(mood_name(mood_code("missing").unwrap()), Some("missing"));
    assert_eq!(
        mood_name(200),
        None,
        "a newer build's mood has no name here"
    );
    let mut timeline = Timeline::default();
    let first = mood(ALICE, 1, 1, mood_code("tired").unwrap(), 3);
    let later = mood(ALICE, 2, 2, mood_code("joy").unwrap(), 3);
    let next_day = mood(ALICE, 3, 3, mood_code("low").unwrap(), 4);
    for op in [&first, &later, &next_day] {
        assert!(op.body.is_message());
        timeline.apply(op);
    }
    assert_eq!(timeline.messages().len(), 3);
    let mut moods = Moods::default();
    for op in [&later, &next_day, &first] {
        moods.apply(op);
    }
    let days = moods.by_day(ALICE);
    let names: Vec<_> = days.values().map(|r| mood_name(r.mood).unwrap()).collect();
    assert_eq!(names, ["joy", "low"], "the day's last mood colours it");
    assert!(moods.by_day(BOB).is_empty());
    // Deleted, it is gone from the strip and erased to a row that says so.
    let delete = Op {
        id: OpId {
            author: ALICE,
            seq: 4,
        },
        lamport: Lamport(4),
        wall_ms: 0,
        body: OpBody::Delete { target: later.id },
    };
    assert!(moods.apply(&delete));
    assert_eq!(
        moods.by_day(ALICE)[&CivilDate::new(2026, 11, 3).unwrap()].id,
        first.id
    );
    let erased = later.body.erased().unwrap();
    assert!(erased.is_message());
    // The partner cannot delete Arta's mood.
    let not_theirs = Op {
        id: OpId {
            author: BOB,
            seq: 1,
        },
        lamport: Lamport(5),
        wall_ms: 0,
        body: OpBody::Delete {
            target: next_day.id,
        },
    };
    assert!(!moods.apply(&not_theirs));
    // A note past the limit, or a day that is no date, is refused from a peer.
    let mut long = next_day.body.clone();
    if let OpBody::Mood(m) = &mut long {
        m.note = "a".repeat(limits::MAX_MOOD_NOTE_BYTES + 1);
    }
    assert!(long.validate().is_err());
    let mut no_date = next_day.body.clone();
    if let OpBody::Mood(m) = &mut no_date {
        m.day = CivilDate {
            year: 2026,
            month: 2,
            day: 30,
        };
    }
    assert!(no_date.validate().is_err());
}

proptest! {
    /// Moods shared and deleted on both devices, arriving in any order and with
    /// repeats, make the same strip on both.
    #[test]
    fn moods_converge_in_any_order(
        shares in proptest::collection::vec((any::<bool>(), 0..8u8, 1..29u8, any::<bool>()), 1..40),
        shuffle_seed in any::<u64>(),
    ) {
        let mut seqs = [0u64; 2];
        let mut ops = Vec::new();
        for (i, (by_bob, code, day, then_delete)) in shares.into_iter().enumerate() {
            let author = if by_bob { BOB } else { ALICE };
            let seq = &mut seqs[usize::from(by_bob)];
            *seq += 1;
            let shared = mood(author, *seq, i as u64, code, day);
            let id = shared.id;
            ops.push(shared);
            if then_delete {
                *seq += 1;
                ops.push(Op {
                    id: OpId { author, seq: *seq },
                    lamport: Lamport(i as u64 + 1),
                    wall_ms: 0,
                    body: OpBody::Delete { target: id },
                });
            }
        }
        let mut in_order = Moods::default();
        for op in &ops {
            in_order.apply(op);
        }
        let shuffled = shuffled_with_repeats(&ops, 3, shuffle_seed);
        let mut replayed = Moods::default();
        for op in &shuffled {
            replayed.apply(op);
        }
        for author in [ALICE, BOB] {
            let a: Vec<_> = in_order.by_day(author).into_iter().map(|(d, r)| (d, r.id)).collect();
            let b: Vec<_> = replayed.by_day(author).into_iter().map(|(d, r)| (d, r.id)).collect();
            prop_assert_eq!(a, b);
        }
    }
}

fn boundary_op(author: DeviceId, seq: u64, lamport: u64, body: OpBody) -> Op {
    Op {
        id: OpId { author, seq },
        lamport: Lamport(lamport),
        wall_ms: 0,
        body,
    }
}

#[test]
fn quiet_hours_are_times_and_may_cross_midnight() {
    let night = QuietHours::parse("22:30", "07:00").unwrap();
    assert!(night.contains(23 * 60));
    assert!(night.contains(0));
    assert!(night.contains(6 * 60 + 59));
    assert!(!night.contains(7 * 60));
    assert!(!night.contains(22 * 60 + 29));
    let afternoon = QuietHours::parse("13:00", "15:00").unwrap();
    assert!(afternoon.contains(14 * 60));
    assert!(!afternoon.contains(15 * 60));
    for (start, end) in [
        ("25:00", "07:00"),
        ("22:61", "07:00"),
        ("7", "08:00"),
        ("08:00", "08:00"),
    ] {
        assert_eq!(QuietHours::parse(start, end), None, "{start}-{end}");
    }
    // A peer's proposal of no change, or of times that are none, is refused.
    assert!(
        OpBody::BoundaryProposal(BoundaryProposal::default())
            .validate()
            .is_err()
    );
    let bad = OpBody::BoundaryProposal(BoundaryProposal {
        quiet: vec![(
            ALICE,
            Some(QuietHours {
                start: 1500,
                end: 10,
            }),
        )],
        ..BoundaryProposal::default()
    });
    assert!(bad.validate().is_err());
    let long = OpBody::BoundaryProposal(BoundaryProposal {
        care: Some("a".repeat(limits::MAX_BOUNDARY_TEXT_BYTES + 1)),
        ..BoundaryProposal::default()
    });
    assert!(long.validate().is_err());
}

#[test]
fn a_proposal_holds_once_the_other_accepts_and_an_answer_replaces_it() {
    let mut b = Boundaries::default();
    let arta = boundary_op(
        ALICE,
        1,
        1,
        OpBody::BoundaryProposal(BoundaryProposal {
            quiet: vec![(ALICE, QuietHours::parse("23:00", "07:30"))],
            ..BoundaryProposal::default()
        }),
    );
    b.apply(&arta);
    assert_eq!(b.pending().len(), 1);
    assert!(
        b.agreement().quiet.is_empty(),
        "not agreed before Ben accepts"
    );
    // Accepting one's own proposal counts for nothing.
    b.apply(&boundary_op(
        ALICE,
        2,
        2,
        OpBody::BoundaryAccept { proposal: arta.id },
    ));
    assert!(b.agreement().quiet.is_empty());
    // Ben answers with his own: hers is answered, his waits.
    let ben = boundary_op(
        BOB,
        1,
        3,
        OpBody::BoundaryProposal(BoundaryProposal {
            quiet: vec![
                (ALICE, QuietHours::parse("23:00", "08:00")),
                (BOB, QuietHours::parse("00:00", "06:00")),
            ],
            care: Some("work".into()),
            ..BoundaryProposal::default()
        }),
    );
    b.apply(&ben);
    let pending: Vec<_> = b.pending().iter().map(|p| p.id).collect();
    assert_eq!(pending, [ben.id]);
    b.apply(&boundary_op(
        ALICE,
        3,
        4,
        OpBody::BoundaryAccept { proposal: ben.id },
    ));
    let agreed = b.agreement();
    assert_eq!(
        agreed.quiet[&ALICE],
        QuietHours::parse("23:00", "08:00").unwrap()
    );
    assert_eq!(agreed.care, "work");
    assert!(b.pending().is_empty());
    assert_eq!(b.history().len(), 1);
}

proptest! {
    /// Both partners propose and accept while apart; whatever order the ops reach
    /// each device in, with repeats, both hold the same agreement, history and
    /// pending proposals.
    #[test]
    fn boundaries_converge_in_any_order(
        steps in proptest::collection::vec((any::<bool>(), any::<bool>(), 0..4u8, 0..24u16, 0..8usize, 1..40u64), 1..40),
        shuffle_seed in any::<u64>(),
    ) {
        let mut seqs = [0u64; 2];
        let mut ops: Vec<Op> = Vec::new();
        for (by_bob, accept, field, hour, pick, lamport) in steps {
            let author = if by_bob { BOB } else { ALICE };
            let seq = &mut seqs[usize::from(by_bob)];
            *seq += 1;
            let theirs: Vec<OpId> = ops.iter()
                .filter(|o| matches!(o.body, OpBody::BoundaryProposal(_)) && o.id.author != author)
                .map(|o| o.id)
                .collect();
            let body = if accept && !theirs.is_empty() {
                OpBody::BoundaryAccept { proposal: theirs[pick % theirs.len()] }
            } else {
                let mut p = BoundaryProposal::default();
                match field {
                    0 => p.quiet.push((author, Some(QuietHours { start: hour * 60, end: (hour * 60 + 420) % 1440 }))),
                    1 => p.quiet.push((author, None)),
                    2 => p.care = Some(format!("care {lamport}")),
                    _ => p.media = Some(format!("media {lamport}")),
                }
                OpBody::BoundaryProposal(p)
            };
            ops.push(boundary_op(author, *seq, lamport, body));
        }
        let mut in_order = Boundaries::default();
        for op in &ops {
            in_order.apply(op);
        }
        let shuffled = shuffled_with_repeats(&ops, 2, shuffle_seed);
        let mut replayed = Boundaries::default();
        for op in &shuffled {
            replayed.apply(op);
        }
        prop_assert_eq!(replayed.agreement(), in_order.agreement());
        prop_assert_eq!(replayed.history(), in_order.history());
        prop_assert_eq!(replayed.pending(), in_order.pending());
    }
}

proptest! {
    /// Check-ins added, changed and removed on both devices converge in any order,
    /// and a change from a peer that names no day or no time is refused.
    #[test]
    fn checkins_converge_in_any_order(
        changes in proptest::collection::vec(
            (any::<bool>(), 0..4usize, proptest::option::weighted(0.8, (1..0x80u8, 0..1440u16)), 1..50u64),
            1..50,
        ),
        shuffle_seed in any::<u64>(),
    ) {
        let mut seqs = [0u64; 2];
        let mut ops: Vec<Op> = Vec::new();
        for (by_bob, entry, value, lamport) in changes {
            let author = if by_bob { BOB } else { ALICE };
            let seq = &mut seqs[usize::from(by_bob)];
            *seq += 1;
            let entry = ops.iter()
                .filter(|o| matches!(&o.body, OpBody::CheckIn(c) if c.entry.is_none()))
                .nth(entry)
                .map(|o| o.id);
            let checkin = value.map(|(weekdays, minute)| CheckIn {
                weekdays,
                minute,
                zone: if by_bob { "America/Toronto" } else { "Europe/Tirane" }.into(),
            });
            let body = OpBody::CheckIn(CheckInChange { entry, checkin });
            prop_assert!(body.validate().is_ok());
            ops.push(boundary_op(author, *seq, lamport, body));
        }
        let mut in_order = CheckIns::default();
        for op in &ops {
            in_order.apply(op);
        }
        let shuffled = shuffled_with_repeats(&ops, 2, shuffle_seed);
        let mut replayed = CheckIns::default();
        for op in &shuffled {
            replayed.apply(op);
        }
        prop_assert_eq!(&replayed, &in_order);
        let none = OpBody::CheckIn(CheckInChange {
            entry: None,
            checkin: Some(CheckIn { weekdays: 0, minute: 60, zone: "UTC".into() }),
        });
        prop_assert!(none.validate().is_err());
        let late = OpBody::CheckIn(CheckInChange {
            entry: None,
            checkin: Some(CheckIn { weekdays: 1, minute: 1440, zone: "UTC".into() }),
        });
        prop_assert!(late.validate().is_err());
    }
}

/// `ops` in an order `seed` picks, every `every`th of them twice: how ops reach a
/// device after going apart and back, through a mailbox and directly.
fn shuffled_with_repeats(ops: &[Op], every: usize, seed: u64) -> Vec<Op> {
    let mut shuffled = ops.to_vec();
    shuffled.extend(ops.iter().step_by(every).cloned());
    let mut state = seed | 1;
    for i in (1..shuffled.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        shuffled.swap(i, (state % (i as u64 + 1)) as usize);
    }
    shuffled
}
