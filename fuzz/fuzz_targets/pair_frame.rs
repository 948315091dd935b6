//! A pairing message from any device nearby or on the internet: decoding never
//! panics.
#![no_main]

use hearth_core::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = wire::decode_pair(data) {
        assert_eq!(wire::decode_pair(&wire::encode(&frame)).ok(), Some(frame));
    }
});
