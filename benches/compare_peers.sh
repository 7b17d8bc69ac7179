#!/usr/bin/env bash
# Engine throughput next to the numpy speed peer, on the same files, in the same run.
#
# usage: benches/compare_peers.sh [DATA_DIR]
#   DATA_DIR holds gen_synthetic.py output (benchmark/current .csv and .parquet); default
#   $DRIFTDECK_BENCH_DATA, else target/bench-data/synthetic-1m. Generated when absent
#   (python3 $PEERS/gen_synthetic.py 1000000 DATA_DIR: 1-2 minutes, about 1 GB).
#   PEERS (default ../shared/peers, relative to the project root) is the directory of psi_numpy_peer.py and gen_synthetic.py.
# Prints: peer M cells/s (compute only, both sides), ours for compare() in memory (both sides)
# and for evaluate() with a frozen profile (current side), and the ratios; then (unless E2E=0)
# the criterion pipeline bench; then (unless PROCESS=0) whole processes: `driftdeck psi` on
# Parquet and CSV timed with /usr/bin/time -v (wall, CPU %, peak RSS) beside the peer's process
# with --repeat 1 (its read + one compute, as a user runs it), with the load average.
# PROCESS_ONLY=1 runs only the whole-process part. BIN: the driftdeck binary (default: build
# the release profile and use target/release/driftdeck). RUNS: runs per side (default 3, the
# median is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/peers}
if [ ! -f "$PEERS/psi_numpy_peer.py" ]; then
  echo "no psi_numpy_peer.py in $PEERS (from $(pwd)); set PEERS to the peers directory" >&2
  exit 2
fi
DIR=${1:-${DRIFTDECK_BENCH_DATA:-target/bench-data/synthetic-1m}}
DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)

if [ ! -f "$DIR/benchmark.csv" ] || [ ! -f "$DIR/current.csv" ]; then
  echo "== generating 1,000,000-row synthetic populations in $DIR"
  python3 "$PEERS/gen_synthetic.py" 1000000 "$DIR"
fi

whole_process() {
  local bin=${BIN:-}
  if [ -z "$bin" ]; then
    cargo build --release --locked --bin driftdeck >&2
    bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/driftdeck
  fi
  local runs=${RUNS:-3} out="$DIR/process.tsv"
  : > "$out"
  echo "== whole processes ($runs runs each; load before: $(cut -d' ' -f1-3 /proc/loadavg))"
  # One line per run: who, format, wall s, CPU %, peak RSS KB, CPU s (user + sys).
  timed() {
    local who=$1 ext=$2; shift 2
    /usr/bin/time -v -o "$DIR/time.txt" "$@" > "$DIR/$who-$ext.out"
    python3 - "$DIR/time.txt" "$who" "$ext" >> "$out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
secs = 0.0
for part in wall.split(":"):
    secs = secs * 60 + float(part)
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)
cpus = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", t).group(1)) for k in ("User", "System"))
print(f"{sys.argv[2]}\t{sys.argv[3]}\t{secs:.3f}\t{cpu}\t{rss}\t{cpus:.2f}")
PY
  }
  for ext in parquet csv; do
    for _ in $(seq "$runs"); do
      timed driftdeck "$ext" "$bin" psi "$DIR/benchmark.$ext" "$DIR/current.$ext" --exclude y --json
      timed peer "$ext" python3 "$PEERS/psi_numpy_peer.py" "$DIR/benchmark.$ext" "$DIR/current.$ext" \
        --exclude y --repeat 1 --json
    done
  done
  python3 - "$out" "$DIR" <<'PY'
import json, statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
def med(who, ext, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == who and r[1] == ext)
print()
print(f"{'whole process':22s} {'wall s':>8s} {'CPU %':>6s} {'CPU s':>7s} {'peak RSS MB':>12s}")
for ext in ("parquet", "csv"):
    for who in ("driftdeck", "peer"):
        print(f"{who + ' ' + ext:22s} {med(who, ext, 2):8.3f} {med(who, ext, 3):6.0f} {med(who, ext, 5):7.2f} {med(who, ext, 4) / 1024:12.0f}")
    peer = json.load(open(f"{sys.argv[2]}/peer-{ext}.out"))
    rc = peer["seconds_read"] + peer["seconds_compute_median"]
    ours = med("driftdeck", ext, 2)
    print(f"  {ext}: peer process / driftdeck process = {med('peer', ext, 2) / ours:.1f}x;"
          f" peer read {peer['seconds_read']:.3f} s + compute {peer['seconds_compute_median']:.3f} s"
          f" = {rc:.3f} s -> {rc / ours:.1f}x; CPU-seconds peer / driftdeck ="
          f" {med('peer', ext, 5) / med('driftdeck', ext, 5):.1f}x (load-independent-ish)")
PY
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ "${PROCESS_ONLY:-0}" = "1" ]; then
  whole_process
  exit 0
fi

echo "== numpy peer (psi_numpy_peer.py, compute only, median of 3)"
python3 "$PEERS/psi_numpy_peer.py" "$DIR/benchmark.parquet" "$DIR/current.parquet" \
  --exclude y --json > "$DIR/peer.json"
PEER=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["cells"]/d["seconds_compute_median"])' "$DIR/peer.json")

echo "== driftdeck engine (criterion, release)"
DRIFTDECK_BENCH_DATA="$DIR" cargo bench --bench engine -- --noplot 2>&1 | tee "$DIR/engine-bench.log"

python3 - "$DIR" "$PEER" <<'PY'
import json, re, sys
d, peer = sys.argv[1], float(sys.argv[2])
log = open(f"{d}/engine-bench.log").read()
m = re.search(r"cells both sides (\d+), current (\d+)", log)
both, cur = int(m.group(1)), int(m.group(2))
def secs(name):
    with open(f"target/criterion/engine/{name}/new/estimates.json") as f:
        e = json.load(f)
    return e["median"]["point_estimate"] / 1e9
c, e = secs("compare"), secs("evaluate_frozen")
ours_c, ours_e = both / c, cur / e
print()
print(f"numpy peer                  {peer / 1e6:10.1f} M cells/s  (both sides)")
print(f"engine compare() in memory  {ours_c / 1e6:10.1f} M cells/s  (both sides)  {c * 1e3:.1f} ms  ratio {ours_c / peer:.1f}x")
print(f"engine evaluate() frozen    {ours_e / 1e6:10.1f} M cells/s  (current side) {e * 1e3:.1f} ms  ratio {ours_e / peer:.1f}x"
      f"  [{2 * cur / e / 1e6:.1f} M cells/s counting both sides]")
PY

# End to end (E2E=0 skips): files → sources → engine against the peer's read + compute, same files.
if [ "${E2E:-1}" = "1" ]; then
  echo
  echo "== numpy peer on CSV (read + compute)"
  python3 "$PEERS/psi_numpy_peer.py" "$DIR/benchmark.csv" "$DIR/current.csv" \
    --exclude y --json > "$DIR/peer-csv.json"
  echo "== driftdeck end to end (criterion pipeline bench, release)"
  DRIFTDECK_BENCH_DATA="$DIR" cargo bench --bench pipeline -- end_to_end --noplot 2>&1 \
    | tee "$DIR/pipeline-bench.log"
  python3 - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
print()
for ext, peer_file in (("parquet", "peer.json"), ("csv", "peer-csv.json")):
    p = json.load(open(f"{d}/{peer_file}"))
    peer = p["seconds_read"] + p["seconds_compute_median"]
    with open(f"target/criterion/pipeline/{ext}_end_to_end/new/estimates.json") as f:
        ours = json.load(f)["median"]["point_estimate"] / 1e9
    print(f"{ext:8s} end to end: driftdeck {ours:6.3f} s ({p['cells'] / ours / 1e6:7.1f} M cells/s)"
          f" | peer read {p['seconds_read']:6.3f} s + compute {p['seconds_compute_median']:6.3f} s"
          f" = {peer:6.3f} s | ratio {peer / ours:5.1f}x")
PY
fi

if [ "${PROCESS:-1}" = "1" ]; then
  whole_process
fi
