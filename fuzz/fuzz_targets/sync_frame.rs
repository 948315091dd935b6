//! A sync frame from the partner's device: decoding never panics, and what
//! decodes encodes back to something that decodes to the same.
#![no_main]

use hearth_core::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = wire::decode_frame(data) {
        let again = wire::encode_frame(&frame);
        assert_eq!(wire::decode_frame(&again).ok(), Some(frame));
    }
});
