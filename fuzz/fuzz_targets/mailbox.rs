//! A mailbox-protocol message (from a device, or from the mailbox) and an opened
//! letter (from the partner's device): decoding never panics, the counts announced
//! are checked first, and what decodes round-trips.
#![no_main]

use hearth_core::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = wire::decode_mailbox(data) {
        assert_eq!(wire::decode_mailbox(&wire::encode(&frame)).ok(), Some(frame));
    }
    if let Ok(letter) = wire::decode_letter(data) {
        assert_eq!(wire::decode_letter(&wire::encode(&letter)).ok(), Some(letter));
    }
});
