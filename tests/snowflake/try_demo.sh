#!/usr/bin/env bash
# Try the Snowflake backend locally, one command, no Snowflake account needed:
#
#   tests/snowflake/try_demo.sh [FROM TO]      (default 2013-02-01 2013-12-31)
#
# Starts the Snowflake-protocol test server (fakesnow over TLS, see with_fakesnow.sh), builds a demo
# workspace in a temporary directory whose [store] is kind = "snowflake" pointing at it, runs
# `driftdeck migrate`, a backfill of all 6 demo models, `status`, `sync`, `doctor` (any failure
# fails the script), and prints the statements sent and the wall time. Set DRIFTDECK_BIN to use an
# existing binary.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FROM=${1:-2013-02-01}
TO=${2:-2013-12-31}
if [ -z "${DRIFTDECK_BIN:-}" ]; then
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml"
  DRIFTDECK_BIN="$ROOT/target/debug/driftdeck"
fi
export DRIFTDECK_BIN FROM TO
exec "$ROOT/tests/snowflake/with_fakesnow.sh" bash -c '
set -euo pipefail
TMP=$(mktemp -d)
trap "rm -rf \"$TMP\"" EXIT
WS=$TMP/demo
"$DRIFTDECK_BIN" demo init "$WS" >/dev/null
CFG="$WS/config/driftdeck.toml"
printf "test-password\n" > "$WS/snowflake-password"
cp "$SNOWFLAKE_TEST_CA" "$WS/test-ca.pem"
python3 - "$CFG" "$SNOWFLAKE_TEST_PORT" <<PY
import re, sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
store = f"""[store]
kind = "snowflake"
account = "trydemo"
user = "DRIFTDECK"
password_file = "snowflake-password"
database = "MODEL_MONITORING"
schema = "PSI"
address = "127.0.0.1:{port}"
ca_file = "test-ca.pem"
"""
text = re.sub(r"(?ms)^\[store\]\n.*?(?=^\[)", store + "\n", text)
open(path, "w").write(text)
PY
echo "== driftdeck migrate"
"$DRIFTDECK_BIN" --config "$CFG" migrate
echo "== driftdeck backfill --all --from $FROM --to $TO"
start=$(date +%s.%N)
RUST_LOG=info "$DRIFTDECK_BIN" --config "$CFG" backfill --all --from "$FROM" --to "$TO" 2>"$WS/backfill.log" | tail -3
end=$(date +%s.%N)
grep -o "snowflake store closed.*" "$WS/backfill.log" | tail -1 || true
grep -Eo "statements=[0-9]+" "$WS/backfill.log" | tail -1 || true
echo "backfill wall time: $(python3 -c "print(round($end - $start, 1))") s"
echo "== driftdeck status"
"$DRIFTDECK_BIN" --config "$CFG" status
echo "== driftdeck sync"
"$DRIFTDECK_BIN" --config "$CFG" sync
echo "== driftdeck doctor"
"$DRIFTDECK_BIN" --config "$CFG" doctor
'
