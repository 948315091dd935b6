//! An invite as the user pastes it (text) or a QR code carries it (bytes): reading
//! it never panics, and one that reads writes back to the same.
#![no_main]

use hearth_crypto::Invite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(invite) = Invite::from_bytes(data) {
        let _ = invite.to_text();
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(invite) = Invite::from_text(text)
    {
        assert!(Invite::from_text(&invite.to_text()).is_ok());
    }
});
