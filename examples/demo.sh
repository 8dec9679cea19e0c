#!/usr/bin/env bash
# The README's "run" command: installs what is missing (as root, on Debian 12), builds
# kube-bisync, starts two local API servers (source and target, real kube-apiserver + etcd,
# each with a kube-controller-manager), seeds a few ConfigMaps and Secrets in the source and
# runs the daemon between them in the foreground, syncing them as cluster "demo". Ctrl-C
# stops the daemon (it finishes in-flight writes) and then tears the API servers down.
#   bash examples/demo.sh [extra kube-bisync flags]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${BISYNC_JOBS:-2}" --target kube-bisync kube-bisync-testbed

dir="$root/.testbed"
rm -rf "$dir" && mkdir -p "$dir"
./build/tests/kube-bisync-testbed up --dir "$dir" >"$dir/testbed.log" 2>&1 &
testbed=$!
trap 'kill "$testbed" 2>/dev/null; wait "$testbed" 2>/dev/null || true' EXIT
echo "demo: starting two local API servers (log: $dir/testbed.log)"
for _ in $(seq 1 180); do
  grep -q '^ready' "$dir/testbed.log" 2>/dev/null && break
  kill -0 "$testbed" 2>/dev/null || { cat "$dir/testbed.log"; exit 1; }
  sleep 1
done
grep -q '^ready' "$dir/testbed.log" || { echo "demo: the testbed did not become ready"; cat "$dir/testbed.log"; exit 1; }

src="kubectl --kubeconfig $dir/source.kubeconfig"
echo "demo: seeding namespaces team-a and team-b in the source"
for ns in team-a team-b; do
  $src create namespace "$ns" >/dev/null
  for i in 1 2 3; do
    $src -n "$ns" create configmap "settings-$i" --from-literal=color=blue \
      --from-literal=replicas="$i" >/dev/null
  done
  $src -n "$ns" create secret generic credentials --from-literal=password="s3cret-$ns" >/dev/null
done

cat <<EOT
demo: source: kubectl --kubeconfig $dir/source.kubeconfig get configmaps,secrets -A
demo: target: kubectl --kubeconfig $dir/target.kubeconfig get configmaps,secrets -A -l kube-bisync.io/managed-by=demo
demo: watch:  kubectl --kubeconfig $dir/target.kubeconfig get configmaps -n demo--team-a -w
demo: probes: curl http://127.0.0.1:8081/readyz; metrics: curl http://127.0.0.1:8080/metrics
demo: running kube-bisync (Ctrl-C to stop)
EOT
# The endpoints stay on this machine: /metrics has no authentication (docs/operations.md).
./build/syncer/kube-bisync \
  --source-kubeconfig "$dir/source.kubeconfig" \
  --target-kubeconfig "$dir/target.kubeconfig" \
  --metrics-bind-address 127.0.0.1:8080 --health-probe-bind-address 127.0.0.1:8081 \
  --cluster-name demo --all-namespaces -v 2 "$@" || status=$?
exit "${status:-0}"
