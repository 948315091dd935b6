//! A rendezvous record fetched from a DHT server anyone can write to: opening it
//! never panics, and nothing but a record sealed by the partner opens.
#![no_main]

use std::sync::OnceLock;

use hearth_crypto::{Rendezvous, StaticKeypair};
use libfuzzer_sys::fuzz_target;

fn couple() -> &'static Rendezvous {
    static COUPLE: OnceLock<Rendezvous> = OnceLock::new();
    COUPLE.get_or_init(|| {
        let (me, partner) = match (StaticKeypair::generate(), StaticKeypair::generate()) {
            (Ok(me), Ok(partner)) => (me, partner),
            _ => panic!("no key pair"),
        };
        Rendezvous::new(&me, &partner.public)
    })
}

fuzz_target!(|data: &[u8]| {
    let day = data.first().map_or(0, |&b| 20_000 + i64::from(b));
    assert!(
        couple().open(day, data).is_err(),
        "random bytes opened as a record"
    );
});
