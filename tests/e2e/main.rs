//! End-to-end tests: the real `hearth` binary, as separate processes, driven over its
//! headless JSON-lines protocol.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod chaos;
mod desktop;
mod files;
mod headless;
mod internet;
mod lan;
mod mailbox;
mod netns;
mod proc;
