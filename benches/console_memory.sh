#!/usr/bin/env bash
# Memory (and start-up time) of the real optimised binary with 1,000 models × 365 days.
#
# usage: benches/console_memory.sh [WORKSPACE_DIR]
#   WORKSPACE_DIR defaults to target/bench-data/console-1000 and is built when absent:
#   `driftdeck demo init` (config, demo data, benchmark tree), then `demo = false`, a generated
#   models.yaml with 1,000 models (every model uses the demo's EWR benchmark and current files)
#   and the SQLite store filled by `benches/console_estate.rs` (365,000 results, 30,000 with
#   characteristics and bins, 3,000 runs; the console fixture's data).
# Then starts `driftdeck --config WS/config/driftdeck.toml` in tmux (own socket, 200×60),
# waits for the first full frame (the header counts an alerting model, i.e. the overview from
# SQLite is drawn), and prints the time to it and VmRSS / VmHWM from /proc/<pid>/status at
# the first frame, after the selected model's detail loaded, after moving through 200 models and
# after the first periodic refresh (5 s). Quits the console with `q` and removes the session.
# Target: < 200 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
WS=${1:-target/bench-data/console-1000}
BIN=target/release/driftdeck
command -v tmux >/dev/null || { echo "tmux is required" >&2; exit 2; }

# The bench profile inherits release (same opt-level, LTO, codegen units) and shares the
# dependencies compiled by `cargo bench`, so no second optimised build of arrow is needed.
echo "== building the optimised binary (bench profile = release settings) and the estate writer"
cargo build --profile bench --bin driftdeck 2>&1 | tail -1

if [ ! -f "$WS/config/driftdeck.toml" ] || [ ! -f "$WS/driftdeck.sqlite" ] || [ ! -f "$WS/.estate-ready" ]; then
  echo "== building the 1,000-model workspace in $WS"
  rm -rf "$WS"
  mkdir -p "$(dirname "$WS")"
  "$BIN" demo init "$WS" >/dev/null
  sed -i 's/^demo = true/demo = false/; s/^name = "demo"/name = "scale-1000"/' "$WS/config/driftdeck.toml"
  rm -f "$WS/driftdeck.sqlite" "$WS/driftdeck.sqlite-wal" "$WS/driftdeck.sqlite-shm"
  cargo bench --bench console_estate -- "$WS/driftdeck.sqlite" "$WS/config/models.yaml"
  touch "$WS/.estate-ready"
fi
WS=$(cd "$WS" && pwd)
echo "   store: $(du -h "$WS/driftdeck.sqlite" | cut -f1), models.yaml: $(grep -c '^  - id:' "$WS/config/models.yaml") models"

SOCK="driftdeck-mem-$$"
T="tmux -L $SOCK"
cleanup() { $T kill-server 2>/dev/null || true; }
trap cleanup EXIT

echo "== starting the console (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
START=$(date +%s%N)
$T new-session -d -s mem -x 200 -y 60 \
  "cd '$WS' && XDG_STATE_HOME='$WS/state' exec '$PWD/$BIN' --config '$WS/config/driftdeck.toml'"
PID=$($T list-panes -t mem -F '#{pane_pid}')

BT=$(tr '\0' '\n' < "/proc/$PID/environ" | grep -E '^RUST_(LIB_)?BACKTRACE=' | tr '\n' ' ' || true)
echo "   console pid $PID, ${BT:-RUST_BACKTRACE unset}"

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MB  ", $1, $2/1024}' "/proc/$PID/status"; echo; }

FIRST=""
for _ in $(seq 1 1000); do
  if $T capture-pane -p -t mem 2>/dev/null | grep -Eq '[1-9][0-9]* alerting'; then
    FIRST=$(( ($(date +%s%N) - START) / 1000000 ))
    break
  fi
  sleep 0.01
done
if [ -z "$FIRST" ]; then
  echo "first frame with data did not appear within 10 s; screen:" >&2
  $T capture-pane -p -t mem >&2 || true
  exit 1
fi
echo "start → first full frame (tmux capture poll, 10 ms): ${FIRST} ms"
echo -n "at first frame:                 "; rss
sleep 1
echo -n "detail loaded (+1 s):           "; rss
for _ in $(seq 1 200); do $T send-keys -t mem j; done
sleep 1
echo -n "after 200 × down (+1 s):        "; rss
sleep 5
echo -n "after a periodic refresh (5 s): "; rss
$T capture-pane -p -t mem | head -8

$T send-keys -t mem q
for _ in $(seq 1 50); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
  echo "console still running after q (confirm dialog?); sending y" >&2
  $T send-keys -t mem y
  sleep 1
fi
kill -0 "$PID" 2>/dev/null && echo "console did not quit" >&2 || echo "console quit"
