#!/usr/bin/env python3
"""Two builds of Hearth side by side: the same file, end to end over loopback, in
alternating rounds of one run, so a busy moment on the machine hits both alike.

    python3 scripts/bench-builds.py OLD_BINARY NEW_BINARY [SIZE_MIB] [ROUNDS]

Each round pairs two fresh `hearth headless` nodes of one build and times
`send_file` until `transfer_done` at the partner, as scripts/bench-peers.py does.
Build the old one in a worktree of its own, for example:
    git worktree add /tmp/old REV && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target \
        cargo build --release -p hearth)
"""

import importlib.util
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hearth_headless  # noqa: E402

spec = importlib.util.spec_from_file_location("bench_peers", os.path.join(HERE, "bench-peers.py"))
bench_peers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_peers)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    builds = {"old": sys.argv[1], "new": sys.argv[2]}
    size_mib = int(sys.argv[3]) if len(sys.argv) > 3 else 512
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    work = tempfile.mkdtemp()
    try:
        path = os.path.join(work, "payload.bin")
        with open(path, "wb") as out:
            for _ in range(size_mib):
                out.write(os.urandom(1024 * 1024))
        size = os.path.getsize(path)
        rates = {name: [] for name in builds}
        for n in range(rounds):
            for name, binary in builds.items():
                hearth_headless.HEARTH = binary
                root = tempfile.mkdtemp(dir=work)
                alice, bob = bench_peers.hearth_pair(root)
                took, message_at, _ = bench_peers.hearth_round(alice, bob, path, size)
                for node in (alice, bob):
                    node.proc.kill()
                    node.proc.wait()
                shutil.rmtree(root, ignore_errors=True)
                rates[name].append(size / took / 1e6)
                print(f"round {n + 1}: {name} {rates[name][-1]:.0f} MB/s "
                      f"(message after {message_at * 1000:.0f} ms)", flush=True)
        print(f"\n{size_mib} MiB over loopback, {rounds} rounds, median (best) MB/s:")
        for name, r in rates.items():
            r.sort()
            print(f"  {name:4} {r[len(r) // 2]:.0f} ({r[-1]:.0f})  {builds[name]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
