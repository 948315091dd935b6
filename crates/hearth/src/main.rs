//! `hearth`: the Hearth desktop app and its command-line modes.

use clap::Parser;

/// Hearth: a private, peer-to-peer messenger for two.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!(
        "Hearth {}: the engine and app are not built yet.",
        env!("CARGO_PKG_VERSION")
    );
}
