#!/usr/bin/env bash
# Measures the window with a long history: time from launch to the first frame and
# to the first frame showing the history, frame times while scrolling up through it,
# and idle memory (RssAnon, what the app itself allocates; VmRSS for reference).
#
#   bash scripts/measure-app.sh [MESSAGES]      (default 100000)
#
# Builds the release binary, pairs two profiles through headless mode, writes the
# history from one side (the other stays offline), then opens that profile in a
# window under Xvfb. Needs xvfb, imagemagick and xdotool. Loopback only, mDNS off.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100000}"
cargo build -q --release -p hearth
bin="$PWD/target/release/hearth"
work="$(mktemp -d)"
display=":$((80 + RANDOM % 9))"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))

python3 - "$bin" "$work" "$port" "$count" <<'PY'
import json, subprocess, sys, time, threading, queue
bin, work, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def start(name, p):
    proc = subprocess.Popen([bin, "headless", "--profile", f"{work}/{name}", "--no-mdns",
                             "--listen", f"/ip4/127.0.0.1/tcp/{p}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1 << 16)
    q = queue.Queue()
    threading.Thread(target=lambda: [q.put(json.loads(l)) for l in proc.stdout], daemon=True).start()
    return proc, q
def ask(d, **cmd):
    proc, q = d
    cmd["req"] = "x"
    proc.stdin.write(json.dumps(cmd) + "\n"); proc.stdin.flush()
    while True:
        e = q.get(timeout=60)
        if e.get("req") == "x":
            return e
a, b = start("arta", port), start("ben", port + 1)
ask(a, cmd="init", name="Arta", language="sq", time_zone="Europe/Tirane")
ask(b, cmd="init", name="Ben", language="en", time_zone="America/Toronto")
ask(b, cmd="pair", code=ask(a, cmd="invite")["code"])
ask(b, cmd="quit"); b[0].wait()
started = time.time()
proc, q = a
for i in range(count):
    proc.stdin.write(json.dumps({"cmd": "send", "text": f"Mesazhi {i}: një fjali e zakonshme për një bisedë të gjatë ❤", "req": i}) + "\n")
proc.stdin.flush()
while True:
    e = q.get(timeout=600)
    if e.get("req") == count - 1:
        break
print(f"wrote {count} messages in {time.time() - started:.1f} s", flush=True)
ask(a, cmd="quit"); proc.wait()
PY

Xvfb "$display" -screen 0 600x800x24 >/dev/null 2>&1 &
pids+=($!)
sleep 1
export DISPLAY="$display"
HEARTH_FRAME_STATS=1 HEARTH_LOG=warn,hearth_app=info "$bin" --profile "$work/arta" --no-mdns \
    --listen "/ip4/127.0.0.1/tcp/$port" >"$work/app.log" 2>&1 &
app=$!
pids+=($app)
for _ in $(seq 100); do grep -q "first frame with history" "$work/app.log" && break; sleep 0.1; done
grep -E "first frame" "$work/app.log" | sed 's/\x1b\[[0-9;]*m//g'
sleep 2
window=$(xdotool search --name '^Hearth$' | head -1)
xdotool mousemove --window "$window" 200 300
# Scroll up through the history: each wheel step moves the view, and reaching the
# top pages older messages in from the store.
for _ in $(seq 900); do xdotool click 4; done
sleep 1
grep -E "frame times" "$work/app.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -3
sleep 5
grep -E "^(VmRSS|RssAnon|RssFile)" "/proc/$app/status"
import -window root "$work/scrolled.png" && cp "$work/scrolled.png" /tmp/hearth-scrolled.png
