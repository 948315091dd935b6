#!/usr/bin/env bash
# Two Hearth windows under Xvfb, paired, with a conversation, saved as screenshots.
#
#   bash scripts/screenshots.sh [OUT_DIR]     (default: docs/screenshots)
#
# Pairs two fresh profiles and exchanges messages through headless mode (one in
# Albanian with ë and ç, one with emoji), then opens both in real windows side by
# side, types one more message into a window, and takes screenshots. Needs Xvfb,
# ImageMagick's import and xdotool (apt-get install xvfb imagemagick xdotool).
# Everything runs on loopback with mDNS off.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
mkdir -p "$out"
cargo build -q -p hearth
bin="$PWD/target/debug/hearth"
work="$(mktemp -d)"
display=":$((90 + RANDOM % 9))"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

port_a=$((20000 + RANDOM % 20000))
port_b=$((port_a + 1))

python3 - "$bin" "$work" "$port_a" "$port_b" <<'PY'
import json, subprocess, sys, time, queue, threading
bin, work, port_a, port_b = sys.argv[1:]
class Device:
    def __init__(self, name, port):
        self.p = subprocess.Popen(
            [bin, "headless", "--profile", f"{work}/{name}", "--no-mdns",
             "--listen", f"/ip4/127.0.0.1/tcp/{port}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.q, self.n = queue.Queue(), 0
        threading.Thread(target=lambda: [self.q.put(json.loads(l)) for l in self.p.stdout], daemon=True).start()
    def ask(self, **cmd):
        self.n += 1
        cmd["req"] = self.n
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        while True:
            event = self.q.get(timeout=30)
            if event.get("req") == self.n:
                if event["event"] == "error":
                    sys.exit(f"{cmd['cmd']}: {event['message']}")
                return event
    def wait(self, kind):
        while True:
            event = self.q.get(timeout=30)
            if event["event"] == kind:
                return event
arta, ben = Device("arta", port_a), Device("ben", port_b)
arta.ask(cmd="init", name="Arta", language="sq", time_zone="Europe/Tirane")
ben.ask(cmd="init", name="Ben", language="en", time_zone="America/Toronto")
invite = arta.ask(cmd="invite")["code"]
ben.ask(cmd="pair", code=invite)
arta.wait("paired")
first = arta.ask(cmd="send", text="Mirëmëngjes, zemër! Si fjete? ☀")["id"]
ben.wait("message")
ben.ask(cmd="send", text="Good morning! I slept well 😊 Çfarë po bën sot?", reply_to=first)
ben.ask(cmd="react", id=first, emoji="❤")
arta.wait("message")
reply = arta.ask(cmd="send", text="Po pi kafe ☕ dhe po mendoj për ty ❤")["id"]
ben.wait("message")
ben.ask(cmd="read", up_to=reply)
arta.ask(cmd="send", text="Në mbrëmje flasim në video? 🎥")
# A photo, and one for Ben's eyes only, once.
import struct, zlib
def png(path, w, h, pixel):
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(w)) for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
png(f"{work}/sunset.png", 320, 200, lambda x, y: (250 - y // 2, 120 + x // 8, 60 + y // 3))
png(f"{work}/only-you.png", 200, 200, lambda x, y: (200, x, y))
arta.ask(cmd="send_file", path=f"{work}/sunset.png")
arta.ask(cmd="send_file", path=f"{work}/only-you.png", view_once=True)
ben.wait("transfer_done")
time.sleep(1)
for d in (arta, ben):
    d.ask(cmd="quit")
    d.p.wait()
PY

Xvfb "$display" -screen 0 900x720x24 >/dev/null 2>&1 &
pids+=($!)
sleep 1
export DISPLAY="$display"
"$bin" --profile "$work/arta" --no-mdns --listen "/ip4/127.0.0.1/tcp/$port_a" >"$work/arta.log" 2>&1 &
pids+=($!)
"$bin" --profile "$work/ben" --no-mdns --listen "/ip4/127.0.0.1/tcp/$port_b" >"$work/ben.log" 2>&1 &
pids+=($!)
sleep 4
windows=($(xdotool search --name '^Hearth$' || true))
[ "${#windows[@]}" -eq 2 ] || { echo "expected two Hearth windows, found ${#windows[@]}" >&2; exit 1; }
xdotool windowmove "${windows[0]}" 0 0
xdotool windowmove "${windows[1]}" 450 0
sleep 3
import -window root "$out/chat.png"

# One message typed into Ben's window, sent with Enter.
xdotool windowactivate --sync "${windows[1]}" 2>/dev/null || xdotool windowfocus "${windows[1]}"
xdotool mousemove 650 650 click 1
sleep 0.5
xdotool type --delay 20 "See you tonight 🌙"
xdotool key Return
sleep 3
import -window root "$out/chat-live.png"
echo "saved $out/chat.png and $out/chat-live.png"
