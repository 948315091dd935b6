#!/usr/bin/env python3
"""The same file through Hearth, magic-wormhole and sendme over loopback, in one run.

Run through scripts/bench-peers.sh, which builds and installs what this needs.
Each tool is timed end to end, from the moment the sender is asked to send to the
moment the receiver holds the whole file, checked:
- Hearth: two `hearth headless` nodes paired over TCP on 127.0.0.1; `send_file` on
  one, until `transfer_done` on the other (which has checked the BLAKE3 of every
  chunk and of the whole file). Also when the message itself reached the partner.
- magic-wormhole: its mailbox server and transit relay on 127.0.0.1; `wormhole send`
  with a fixed code, `wormhole receive` until it exits.
- sendme: `sendme send` until it prints a ticket, `sendme receive` until it exits
  (iroh's relays switched off, so it stays on loopback).
Rounds alternate the tools, so a busy moment on the machine hits each alike.
"""

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hearth_headless import HEARTH, Headless, free_port  # noqa: E402


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def hearth_pair(root):
    alice = Headless(os.path.join(root, "alice"), free_port())
    bob = Headless(os.path.join(root, "bob"), free_port())
    for node, name in ((alice, "Alice"), (bob, "Bob")):
        node.send(cmd="init", name=name, language="en", time_zone="UTC")
        node.wait(lambda e: e.get("event") == "status")
    alice.send(cmd="invite")
    code = alice.wait(lambda e: e.get("event") == "invite")["code"]
    bob.send(cmd="pair", code=code)
    bob.wait(lambda e: e.get("event") == "paired")
    alice.wait(lambda e: e.get("event") == "paired")
    return alice, bob


def hearth_round(alice, bob, path, size):
    started = time.time()
    alice.send(cmd="send_file", path=path)
    message = bob.wait(lambda e: e.get("event") == "message" and e.get("attachment"))
    message_at = time.time() - started
    done = bob.wait(lambda e: e.get("event") == "transfer_done"
                    and e.get("id") == message["id"])
    took = time.time() - started
    # The sender seals its own copy once the partner has the file: that work is
    # not left to slow down the next tool's round.
    alice.wait(lambda e: e.get("event") == "message_changed" and e.get("id") == message["id"]
               and ((e.get("attachment") or {}).get("file") or {}).get("state") == "ready")
    return took, message_at, message["id"]


def wormhole_round(path, out_dir, mailbox, transit, n):
    relay = ["--relay-url", f"ws://127.0.0.1:{mailbox}/v1",
             "--transit-helper", f"tcp:127.0.0.1:{transit}"]
    code = f"{n + 7}-hearth-bench"
    out = os.path.join(out_dir, f"wormhole-{n}")
    started = time.time()
    sender = subprocess.Popen(["wormhole", *relay, "send", "--code", code, path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    receiver = subprocess.run(
        ["wormhole", *relay, "receive", "--accept-file", "--output-file", out, code],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    took = time.time() - started
    sender.wait(timeout=60)
    if receiver.returncode != 0:
        raise RuntimeError(f"wormhole receive failed: {receiver.stderr[-500:]}")
    return took, out


def sendme_round(path, out_dir, n):
    work = os.path.join(out_dir, f"sendme-{n}")
    os.makedirs(work)
    env = dict(os.environ, RUST_LOG="error")
    started = time.time()
    sender = subprocess.Popen(["sendme", "send", "--relay", "disabled", "--ticket-type", "addresses",
                               "--no-progress", path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env, cwd=out_dir)
    ticket = None
    for line in sender.stdout:
        for word in line.split():
            if word.startswith("blob"):
                ticket = word
        if ticket:
            break
    if not ticket:
        raise RuntimeError("sendme printed no ticket")
    receiver = subprocess.run(["sendme", "receive", "--relay", "disabled", ticket],
                              cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=900)
    took = time.time() - started
    sender.kill()
    if receiver.returncode != 0:
        raise RuntimeError(f"sendme receive failed: {receiver.stderr[-500:]}")
    return took, os.path.join(work, os.path.basename(path))


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def main():
    path, rounds = sys.argv[1], int(sys.argv[2])
    size = os.path.getsize(path)
    mb = size / 1e6
    root = tempfile.mkdtemp(prefix="hearth-peers-")
    servers = []
    try:
        mailbox, transit = free_port(), free_port()
        servers.append(subprocess.Popen(
            ["twist", "wormhole-mailbox", "--port", f"tcp:{mailbox}:interface=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root))
        servers.append(subprocess.Popen(
            ["twist", "transitrelay", "--port", f"tcp:{transit}:interface=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root))
        wait_port(mailbox)
        wait_port(transit)
        alice, bob = hearth_pair(root)
        results = {"hearth": [], "magic-wormhole": [], "sendme": []}
        message_at = []
        for n in range(rounds):
            took, at, file_id = hearth_round(alice, bob, path, size)
            results["hearth"].append(took)
            if n == 0:
                copy = os.path.join(root, "hearth-copy")
                bob.send(cmd="save_file", id=file_id, path=copy)
                bob.wait(lambda e: e.get("event") == "ok" and e.get("cmd") == "save_file")
                assert same_file(path, copy), "Hearth's copy differs"
                os.remove(copy)
            message_at.append(at)
            took, out = wormhole_round(path, root, mailbox, transit, n)
            assert same_file(path, out), "wormhole's copy differs"
            os.remove(out)
            results["magic-wormhole"].append(took)
            took, out = sendme_round(path, root, n)
            assert same_file(path, out), "sendme's copy differs"
            shutil.rmtree(os.path.dirname(out))
            results["sendme"].append(took)
            print(f"round {n + 1}: " + ", ".join(
                f"{tool} {mb / results[tool][-1]:.0f} MB/s" for tool in results),
                flush=True)
        alice.stop()
        bob.stop()
        best = {tool: mb / min(times) for tool, times in results.items()}
        median = {tool: mb / sorted(times)[len(times) // 2] for tool, times in results.items()}
        print(f"\n{size / 2**20:.0f} MiB over loopback, {rounds} rounds, median (best) MB/s:")
        for tool in results:
            print(f"  {tool:15} {median[tool]:7.0f} ({best[tool]:.0f})")
        peer = max(median["magic-wormhole"], median["sendme"])
        print(f"Hearth / best peer (medians): {median['hearth'] / peer:.2f}x")
        print("Hearth: the message at the partner after send_file: "
              + ", ".join(f"{t * 1000:.0f} ms" for t in message_at))
    finally:
        for server in servers:
            server.terminate()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
