"""A `hearth headless` process spoken to in JSON lines, for the benchmark scripts
(bench-peers.py, bench-mailbox.py)."""

import json
import os
import queue
import socket
import subprocess
import threading
import time

HEARTH = os.environ.get("HEARTH_BIN", "target/release/hearth")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Headless:
    """A `hearth headless` process, spoken to in JSON lines."""

    def __init__(self, profile, port):
        self.proc = subprocess.Popen(
            [HEARTH, "headless", "--profile", profile, "--no-mdns", "--no-internet",
             "--listen", f"/ip4/127.0.0.1/tcp/{port}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def wait(self, match, timeout=900):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise RuntimeError(f"timed out waiting for {match}")
            event = self.lines.get(timeout=left)
            if event.get("event") == "error":
                raise RuntimeError(f"hearth said: {event}")
            if match(event):
                return event

    def ask(self, **cmd):
        self.send(**cmd, req="q")
        return self.wait(lambda e: e.get("req") == "q")

    def stop(self):
        try:
            self.send(cmd="quit")
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
