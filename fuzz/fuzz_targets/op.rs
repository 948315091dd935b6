//! An op from the partner's device or the disk: decoding never panics; what
//! decodes is within the limits, round-trips, stays under its size bound, and folds
//! into a message's state and a timeline without panicking.
#![no_main]

use hearth_core::{MessageState, Timeline, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(op) = wire::decode_op(data) else {
        return;
    };
    assert!(op.body.validate().is_ok());
    let again = wire::encode_op(&op);
    assert!(again.len() <= op.size_bound());
    assert_eq!(wire::decode_op(&again).as_ref(), Ok(&op));
    if let Some(target) = op.body.target() {
        let mut state = MessageState::default();
        state.apply(target, &op);
        let _ = state.reactions();
        assert!(wire::encode(&state).len() <= hearth_core::limits::MAX_STATE_BYTES);
    }
    let mut timeline = Timeline::default();
    timeline.apply(&op);
    let _ = op.body.erased();
});
