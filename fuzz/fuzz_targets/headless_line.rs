//! A line of headless input, as any program driving `hearth headless` may write it:
//! reading it never panics, and a message id in a command that reads is one that
//! writes back to the same text. Built from the binary's own `request.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/hearth/src/request.rs"]
#[allow(dead_code)]
mod request;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((request, _req)) = request::parse(line) {
        let ids = match request {
            request::Request::React { id, .. }
            | request::Request::Unreact { id, .. }
            | request::Request::Edit { id, .. }
            | request::Request::Delete { id }
            | request::Request::Read { up_to: id }
            | request::Request::OpenFile { id } => vec![id],
            _ => Vec::new(),
        };
        for id in ids {
            assert_eq!(id.to_string().parse::<hearth_core::MessageId>(), Ok(id));
        }
    }
});
