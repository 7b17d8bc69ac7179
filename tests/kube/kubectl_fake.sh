#!/usr/bin/env bash
# kubectl against the fake Kubernetes API server running as its own process
# (examples/fake_kube.rs, the server of tests/fake_kube): discovery, list with a label selector,
# a merge patch of spec.suspend read back, the namespace list, a second kubeconfig context.
# Free loopback port, stopped on exit. Skipped (exit 0, with the reason) without kubectl.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v kubectl >/dev/null 2>&1; then
  echo "SKIPPED: kubectl is not installed (.ci/run installs it)"
  exit 0
fi
cargo build --locked --quiet --example fake_kube
dir=$(mktemp -d)
target/debug/examples/fake_kube --dir "$dir" >"$dir/out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 200); do
  grep -q '^ready' "$dir/out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/out"; echo "fake_kube exited"; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$dir/out" || { cat "$dir/out"; echo "fake_kube did not start"; exit 1; }
export KUBECONFIG="$dir/kubeconfig"
k() { kubectl --cache-dir="$dir/cache" --request-timeout=20s "$@"; }
fail() { echo "kubectl vs fake_kube: $*"; exit 1; }

n=$(k get cronjobs -o name | wc -l)
[ "$n" -ge 6 ] || fail "expected the 6 demo CronJobs, got $n"
cj=$(k get cronjobs -l driftdeck.io/model=jfk_delay -o name)
[ "$(echo "$cj" | wc -l)" = 1 ] || fail "label selector: $cj"
k patch "$cj" --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
[ "$(k get "$cj" -o jsonpath='{.spec.suspend}')" = true ] || fail "suspend not read back"
k get namespaces -o name | grep -qx namespace/other-ns || fail "namespace list"
[ -z "$(k --context fake-other get cronjobs -o name)" ] || fail "other-ns should be empty"
echo "kubectl vs fake_kube: ok ($n CronJobs, suspend patch, namespaces, second context)"
