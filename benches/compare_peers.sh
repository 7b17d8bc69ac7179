#!/usr/bin/env bash
# Engine throughput next to the numpy speed peer, on the same files, in the same run.
#
# usage: benches/compare_peers.sh [DATA_DIR]
#   DATA_DIR holds gen_synthetic.py output (benchmark/current .csv and .parquet); default
#   $DRIFTDECK_BENCH_DATA, else target/bench-data/synthetic-1m. Generated when absent
#   (python3 $PEERS/gen_synthetic.py 1000000 DATA_DIR: 1-2 minutes, about 1 GB).
#   PEERS (default /work/shared/peers) is the directory of psi_numpy_peer.py and gen_synthetic.py.
# Prints: peer M cells/s (compute only, both sides), ours for compare() in memory (both sides)
# and for evaluate() with a frozen profile (current side), and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-/work/shared/peers}
DIR=${1:-${DRIFTDECK_BENCH_DATA:-target/bench-data/synthetic-1m}}
DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)

if [ ! -f "$DIR/benchmark.csv" ] || [ ! -f "$DIR/current.csv" ]; then
  echo "== generating 1,000,000-row synthetic populations in $DIR"
  python3 "$PEERS/gen_synthetic.py" 1000000 "$DIR"
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
