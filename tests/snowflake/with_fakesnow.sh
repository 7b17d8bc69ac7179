#!/usr/bin/env bash
# Runs a command with a Snowflake-protocol server (fakesnow behind tests/snowflake/fakesnow_shim.py)
# listening over TLS on a free loopback port, then stops the server.
#
#   tests/snowflake/with_fakesnow.sh cargo test --locked
#
# - fakesnow is installed pinned into a cached venv ($DRIFTDECK_FAKESNOW_VENV, default
#   ~/.cache/driftdeck/fakesnow-venv); nothing is reinstalled when it is present;
# - a throwaway CA and a leaf certificate for *.snowflakecomputing.com are generated per run;
# - the command sees SNOWFLAKE_TEST_PORT, SNOWFLAKE_TEST_CA (the CA file), and, for tests that start
#   their own server, SNOWFLAKE_TEST_PYTHON, SNOWFLAKE_TEST_SHIM, SNOWFLAKE_TEST_CERT, SNOWFLAKE_TEST_KEY;
# - exits non-zero (without running the command) when the server cannot start.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${DRIFTDECK_FAKESNOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/driftdeck/fakesnow-venv}
PINS=("fakesnow[server]==0.12.1" "snowflake-connector-python==4.8.1")
STAMP="$VENV/.driftdeck-pins"

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]; then
  echo "with_fakesnow: installing ${PINS[*]} into $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$STAMP"
fi

WORK=$(mktemp -d)
SF_PID=
cleanup() {
  if [ -n "$SF_PID" ]; then kill "$SF_PID" 2>/dev/null || true; wait "$SF_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 2 \
  -subj "/CN=driftdeck throwaway test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$WORK/server.key" -out "$WORK/server.csr" -subj "/CN=fakesnow" 2>/dev/null
printf 'subjectAltName=DNS:*.snowflakecomputing.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$WORK/ext.cnf"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
  -out "$WORK/server.pem" -days 2 -extfile "$WORK/ext.cnf" 2>/dev/null

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" "$HERE/fakesnow_shim.py" "$PORT" "$WORK/server.pem" "$WORK/server.key" > "$WORK/fakesnow.log" 2>&1 &
SF_PID=$!
ready=
for _ in $(seq 1 300); do   # up to 30 s
  if curl -s -o /dev/null --cacert "$WORK/ca.pem" \
      --resolve "testacct.snowflakecomputing.com:$PORT:127.0.0.1" \
      -X POST "https://testacct.snowflakecomputing.com:$PORT/session"; then
    ready=1; break
  fi
  if ! kill -0 "$SF_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "with_fakesnow: the Snowflake test server did not start; its log:" >&2
  cat "$WORK/fakesnow.log" >&2
  exit 1
fi
echo "with_fakesnow: Snowflake test server on 127.0.0.1:$PORT (pid $SF_PID)" >&2

export SNOWFLAKE_TEST_PORT=$PORT SNOWFLAKE_TEST_CA=$WORK/ca.pem SNOWFLAKE_TEST_PYTHON=$VENV/bin/python \
  SNOWFLAKE_TEST_SHIM=$HERE/fakesnow_shim.py SNOWFLAKE_TEST_CERT=$WORK/server.pem SNOWFLAKE_TEST_KEY=$WORK/server.key
set +e
"$@"
status=$?
set -e
exit "$status"
