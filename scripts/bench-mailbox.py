#!/usr/bin/env python3
"""Catching up through the couple's mailbox: Arta writes OPS messages and sends a
FILE_MIB file while Ben's device is off; then Arta's is off and Ben's starts.

    cargo build --release -p hearth && python3 scripts/bench-mailbox.py [OPS] [FILE_MIB]

(defaults: 10000 messages, 100 MiB). Everything runs on 127.0.0.1: `hearth mailbox`
and two `hearth headless` nodes, never both running once paired. Prints how long
Arta's device took to leave it all at the mailbox (from her first message until
`to_leave` is 0) and how long Ben's took to catch up (from his start until every
message is shown and the file's `transfer_done`), with rates.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hearth_headless import HEARTH, Headless, free_port  # noqa: E402


def main():
    ops = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    file_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    root = tempfile.mkdtemp(prefix="hearth-bench-mailbox-")
    try:
        payload = os.path.join(root, "payload.bin")
        with open(payload, "wb") as f:
            f.write(os.urandom(file_mib * 1024 * 1024))
        mailbox = subprocess.Popen(
            [HEARTH, "mailbox", "--profile", os.path.join(root, "mailbox"),
             "--listen", f"/ip4/127.0.0.1/tcp/{free_port()}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        invite = None
        for line in mailbox.stdout:
            if line.startswith("invite hearth-mailbox:"):
                invite = line.split()[1]
                break
        arta_dir, ben_dir = os.path.join(root, "arta"), os.path.join(root, "ben")
        arta_port, ben_port = free_port(), free_port()
        arta, ben = Headless(arta_dir, arta_port), Headless(ben_dir, ben_port)
        for node, name in ((arta, "Arta"), (ben, "Ben")):
            node.ask(cmd="init", name=name, language="sq", time_zone="Europe/Tirane")
        code = arta.ask(cmd="invite")["code"]
        ben.ask(cmd="pair", code=code)
        arta.wait(lambda e: e.get("event") == "paired")
        for node in (arta, ben):
            joined = node.ask(cmd="mailbox_pair", code=invite)
            assert joined.get("peer_id"), joined
        ben.stop()

        started = time.time()
        for i in range(ops):
            arta.send(cmd="send", text=f"message {i:05} from Arta's evening")
        sent = 0
        while sent < ops:
            arta.wait(lambda e: e.get("event") == "message")
            sent += 1
        written = time.time() - started
        message = arta.ask(cmd="send_file", path=payload)
        arta.wait(lambda e: e.get("event") == "message_changed" and e.get("id") == message["id"]
                  and (e.get("attachment") or {}).get("blake3", "0").strip("0"))
        sealed = time.time() - started
        while True:
            status = arta.ask(cmd="mailbox_status")
            if status["to_leave"] == 0 and status["error"] is None:
                break
            time.sleep(0.05)
        left = time.time() - started
        arta.stop()
        held = sum(os.path.getsize(os.path.join(d, f))
                   for d, _, fs in os.walk(os.path.join(root, "mailbox")) for f in fs)

        started = time.time()
        ben = Headless(ben_dir, ben_port)
        got = 0
        while got < ops:
            ben.wait(lambda e: e.get("event") == "message" and e.get("author") == "partner"
                     and not e.get("attachment"))
            got += 1
        messages_at = time.time() - started
        ben.wait(lambda e: e.get("event") == "transfer_done" and e.get("id") == message["id"])
        caught_up = time.time() - started
        ben.stop()
        mailbox.terminate()
        mailbox.wait(timeout=30)

        mib = file_mib
        print(f"Arta: {ops} messages written in {written:.2f} s, the {mib} MiB file sealed at "
              f"{sealed:.2f} s, everything at the mailbox at {left:.2f} s "
              f"(mailbox disk then {held / 2**20:.0f} MiB)")
        print(f"Ben: {ops} messages caught up in {messages_at:.2f} s "
              f"({ops / messages_at:.0f} msg/s), the file too at {caught_up:.2f} s "
              f"({mib / (caught_up - messages_at):.0f} MiB/s after the messages)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
