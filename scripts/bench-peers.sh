#!/usr/bin/env bash
# The same file over loopback through Hearth, magic-wormhole and sendme, in one run;
# prints each one's MB/s and Hearth's ratio to the best peer.
#
#   bash scripts/bench-peers.sh [SIZE_MIB] [ROUNDS]     (defaults: 512 MiB, 3 rounds)
#
# Installs what it needs the first time: magic-wormhole with its mailbox server and
# transit relay (pip), sendme (cargo install), and builds Hearth in release.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-512}
rounds=${2:-3}

if ! command -v wormhole >/dev/null || ! command -v twist >/dev/null; then
    pip install -q magic-wormhole magic-wormhole-mailbox-server magic-wormhole-transit-relay
fi
if ! command -v sendme >/dev/null; then
    cargo install --locked sendme
fi
cargo build --release -q -p hearth

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/payload.bin"
python3 scripts/bench-peers.py "$work/payload.bin" "$rounds"
