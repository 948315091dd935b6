//! A file-protocol message from the partner's device: decoding never panics, the
//! counts it announces are checked first, and what decodes round-trips.
#![no_main]

use hearth_core::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = wire::decode_file(data) {
        assert_eq!(wire::decode_file(&wire::encode(&frame)).ok(), Some(frame));
    }
});
