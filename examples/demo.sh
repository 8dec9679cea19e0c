#!/usr/bin/env bash
# The README's "run" command: installs what is missing (as root, on Debian 12), builds
# kube-bisync, starts two local API servers (source and target, real kube-apiserver + etcd)
# and runs the daemon between them in the foreground. Ctrl-C stops the daemon and then
# tears the API servers down.
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

cat <<EOT
demo: source API server: kubectl --kubeconfig $dir/source.kubeconfig get namespaces
demo: target API server: kubectl --kubeconfig $dir/target.kubeconfig get namespaces
demo: running kube-bisync (Ctrl-C to stop)
EOT
./build/syncer/kube-bisync \
  --source-kubeconfig "$dir/source.kubeconfig" \
  --target-kubeconfig "$dir/target.kubeconfig" "$@" || status=$?
exit "${status:-0}"
