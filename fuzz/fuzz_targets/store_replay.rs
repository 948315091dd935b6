//! Arbitrary ops from the partner's device written into a real store: writing
//! never panics, what is out of bounds is kept without effect, and the history
//! still pages afterwards.
#![no_main]

use hearth_core::{DeviceId, Op, OpBody, OpId, wire};
use hearth_store::Store;
use libfuzzer_sys::fuzz_target;

const ME: DeviceId = DeviceId([7; 32]);
const PARTNER: DeviceId = DeviceId([9; 32]);

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let Ok(mut store) = Store::create(dir.path(), None) else {
        return;
    };
    let _ = store.append_local(
        ME,
        0,
        OpBody::Text {
            text: "mine".into(),
            reply_to: None,
        },
    );
    // The input is a run of ops, each a u16 length and its encoding; each is
    // re-authored as the partner's next op, as the sync machine would let through.
    let mut rest = data;
    let mut ops = Vec::new();
    while rest.len() >= 2 && ops.len() < 64 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let (bytes, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        if let Ok(op) = wire::decode_op(bytes) {
            let seq = ops.len() as u64 + 1;
            ops.push(Op {
                id: OpId {
                    author: PARTNER,
                    seq,
                },
                ..op
            });
        }
    }
    if store.apply_remote(&ops).is_ok() {
        assert_eq!(store.held(PARTNER), ops.len() as u64);
    }
    assert!(
        store.page_before(None, 100).is_ok(),
        "history no longer pages"
    );
    assert!(store.held_all().len() <= 2);
});
