//! Whether this machine can run the namespace tests: they need root, `ip`
//! (iproute2), and for the internet ones `nft` and `tcpdump`.
//!
//! A contributor without root still gets a passing `cargo test --workspace`: the
//! namespace tests then print that they were skipped and why. CI sets
//! `HEARTH_REQUIRE_NETNS=1` (in `.ci/run`), and then a machine that cannot run them
//! fails the test instead.

use std::process::{Command, Stdio};

/// True if the test named `test` can run here. If it cannot and namespaces are
/// required, panics with the reason; if it cannot and they are not, says on stderr
/// that the test was skipped, and returns false.
pub(crate) fn available(test: &str, tools: &[&str]) -> bool {
    let missing = match missing(tools) {
        None => return true,
        Some(why) => why,
    };
    if std::env::var("HEARTH_REQUIRE_NETNS").as_deref() == Ok("1") {
        panic!("{test}: HEARTH_REQUIRE_NETNS=1 but {missing}");
    }
    eprintln!(
        "SKIPPED {test}: {missing}. Run as root with iproute2, nftables and tcpdump \
         installed (as `.ci/run` does), or set HEARTH_REQUIRE_NETNS=1 to make this a failure."
    );
    false
}

/// What stops the namespace tests here, if anything.
fn missing(tools: &[&str]) -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !root {
        return Some("they need root".into());
    }
    for tool in ["ip"].iter().chain(tools) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}
