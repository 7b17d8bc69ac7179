#!/usr/bin/env bash
# Benchmark refresh at scale: N models (default 100) x R rows (default 100,000) per benchmark and
# per new extract, refreshed by one `driftdeck refresh-benchmarks --all` process with the
# configured concurrency. Prints wall time, CPU time and peak RSS (GNU time) of the whole process.
#
# usage: benches/refresh_scale.sh [N_MODELS] [ROWS] [CONCURRENCY]
#   BIN   driftdeck binary (default target/release/driftdeck; build it with
#         `cargo build --release` first)
#   DIR   scratch directory (default target/bench-data/refresh-scale; recreated)
# The extract (one file, shared by every model's source) is the benchmark's population with a
# mild shift (PSI ~0.01), so every model passes validation and is replaced: the full path runs
# (row rules, staging, quarantine check, previous statistics, two profiles, shift, install).
# Benchmarks are hard links of one generated file, so the setup costs R rows of disk, not N x R.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
ROWS=${2:-100000}
CONC=${3:-2}
BIN=${BIN:-target/release/driftdeck}
DIR=${DIR:-target/bench-data/refresh-scale}
[ -x "$BIN" ] || { echo "no binary $BIN (cargo build --release)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }
rm -rf "$DIR"
mkdir -p "$DIR/config" "$DIR/data"
DIR=$(cd "$DIR" && pwd)

python3 - "$DIR" "$N" "$ROWS" "$CONC" <<'PY'
import math, os, random, sys
d, n, rows, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cats = ["AA", "B6", "DL", "EV", "MQ", "UA", "US", "WN"]
def write(path, shift, seed):
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("id,score,x1,x2,x3,x4,x5,c1,c2\n")
        for i in range(rows):
            z = rnd.gauss(shift, 1.0)
            score = 1.0 / (1.0 + math.exp(-z))
            x = [rnd.gauss(shift, 1.0) for _ in range(5)]
            c1 = cats[min(int(rnd.expovariate(0.5)), len(cats) - 1)]
            c2 = "" if rnd.random() < 0.05 else rnd.choice(["a", "b", "c"])
            f.write(f"{i},{score:.6f},{x[0]:.5f},{x[1]:.5f},{x[2]:.5f},{x[3]:.5f},{x[4]:.5f},{c1},{c2}\n")
write(f"{d}/data/benchmark.csv", 0.0, 1)
write(f"{d}/data/extract.csv", 0.05, 2)
for m in range(n):
    md = f"{d}/benchmarks/vs{m % 10}/m{m:03d}"
    os.makedirs(md, exist_ok=True)
    os.link(f"{d}/data/benchmark.csv", f"{md}/benchmark.csv")
with open(f"{d}/config/driftdeck.toml", "w") as f:
    f.write(f'[workspace]\nroot = ".."\n[refresh]\nconcurrency = {conc}\nkeep_versions = 2\n'
            '[validation]\nmin_rows = 1000\n')
with open(f"{d}/config/models.yaml", "w") as f:
    f.write("models:\n")
    for m in range(n):
        f.write(f"""  - id: m{m:03d}
    value_stream: vs{m % 10}
    owner: bench
    schedule: "0 6 * * *"
    score: score
    characteristics:
      - {{ name: x1, kind: numeric }}
      - {{ name: x2, kind: numeric }}
      - {{ name: x3, kind: numeric }}
      - {{ name: x4, kind: numeric }}
      - {{ name: x5, kind: numeric }}
      - {{ name: c1, kind: categorical }}
      - {{ name: c2, kind: categorical }}
    current: {{ path: "data/current_{{date}}.csv" }}
    refresh:
      source: {{ path: data/extract.csv }}
      key: id
      ranges: {{ score: [0, 1] }}
""")
PY

echo "== $N models x $ROWS rows, concurrency $CONC ($(du -sh "$DIR/data/extract.csv" | cut -f1) per extract)"
echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KB" \
  "$BIN" --config "$DIR/config/driftdeck.toml" refresh-benchmarks --all \
  > "$DIR/report.txt" 2> "$DIR/stderr.txt" || true
tail -1 "$DIR/stderr.txt"
head -1 "$DIR/report.txt"
grep -c ' replaced ' "$DIR/report.txt" | sed 's/^/models replaced: /'
