#!/usr/bin/env bash
# The README's "run" command: installs what is missing (as root, on Debian 12), builds
# kube-bisync, starts two local API servers (source and target, real kube-apiserver + etcd,
# each with a kube-controller-manager; the source runs a virtual cluster's controllers, the
# target a kube-scheduler and three simulated nodes), seeds a few ConfigMaps and Secrets in the
# source and runs the daemon between them, syncing them as cluster "demo". Then it creates a
# Deployment of 3 replicas in the virtual cluster and shows its Pods running on the host:
# `kubectl get pods -o wide` on both sides and `kubectl get nodes` in the virtual cluster.
# Ctrl-C stops the daemon (it finishes in-flight writes) and then tears the API servers down.
#   bash examples/demo.sh [extra kube-bisync flags]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${BISYNC_JOBS:-2}" --target kube-bisync kube-bisync-testbed

dir="$root/.testbed"
rm -rf "$dir" && mkdir -p "$dir"
./build/tests/kube-bisync-testbed up --dir "$dir" --workloads >"$dir/testbed.log" 2>&1 &
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
demo: source: kubectl --kubeconfig $dir/source.kubeconfig get configmaps,secrets,pods -A
demo: target: kubectl --kubeconfig $dir/target.kubeconfig get configmaps,secrets,pods -A -l kube-bisync.io/managed-by=demo
demo: watch:  kubectl --kubeconfig $dir/target.kubeconfig get pods -n demo--team-a -w
demo: probes: curl http://127.0.0.1:8081/readyz; metrics: curl http://127.0.0.1:8080/metrics
demo: running kube-bisync (Ctrl-C to stop; log: $dir/kube-bisync.log)
EOT
# The endpoints stay on this machine: /metrics has no authentication (docs/operations.md).
# Host Pods would reach the virtual cluster's DNS and API server at these addresses (nothing
# runs in the simulated nodes' Pods here). docs/workloads.md.
./build/syncer/kube-bisync \
  --source-kubeconfig "$dir/source.kubeconfig" \
  --target-kubeconfig "$dir/target.kubeconfig" \
  --metrics-bind-address 127.0.0.1:8080 --health-probe-bind-address 127.0.0.1:8081 \
  --cluster-name demo --all-namespaces --resources configmaps,secrets,pods \
  --virtual-dns-server 10.96.0.10 --virtual-apiserver-address 10.96.0.1 \
  -v 2 "$@" >"$dir/kube-bisync.log" 2>&1 &
daemon=$!
# A script's background job ignores Ctrl-C: it is passed on as SIGTERM (a clean shutdown).
trap 'kill -TERM "$daemon" 2>/dev/null' INT TERM
for _ in $(seq 1 60); do
  grep -q '; ready' "$dir/kube-bisync.log" 2>/dev/null && break
  kill -0 "$daemon" 2>/dev/null || { cat "$dir/kube-bisync.log"; exit 1; }
  sleep 1
done

echo "demo: kubectl create deployment web --replicas=3 in the virtual cluster (namespace team-a)"
$src -n team-a create deployment web --image=registry.k8s.io/pause:3.9 --replicas=3 >/dev/null
running=0
for _ in $(seq 1 90); do
  running=$($src -n team-a get pods -l app=web \
    -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\n"}{end}' | grep -c . || true)
  [ "$running" -ge 3 ] && break
  sleep 1
done
echo "demo: $running of 3 Pods Running in the virtual cluster"
echo "demo: virtual cluster: kubectl get pods -n team-a -o wide"
$src -n team-a get pods -o wide
echo "demo: host: kubectl get pods -n demo--team-a -o wide"
kubectl --kubeconfig "$dir/target.kubeconfig" -n demo--team-a get pods -o wide
echo "demo: virtual cluster: kubectl get nodes"
$src get nodes
echo "demo: kube-bisync keeps running (Ctrl-C to stop)"
# A trapped Ctrl-C ends `wait` early: wait again until the daemon has finished its shutdown.
while kill -0 "$daemon" 2>/dev/null; do
  wait "$daemon" && status=0 || status=$?
done
exit "${status:-0}"
