#!/usr/bin/env bash
# The benchmark command (issue 5; docs/benchmarks.md): installs what is missing, builds the
# daemon and the benchmark driver (RelWithDebInfo, in build/), then the driver starts the
# testbed (etcd and two real kube-apiservers), runs every scenario against kube-bisync as a
# separate process, prints one table and writes bench-results.json in the current folder.
# Usage: bash tests/bench/run.sh [driver flags: --smoke, --objects N, --rate R, ... (--help)]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/tests/build-release.sh" kube-bisync kube-bisync-bench
exec "$root/build/tests/bench/kube-bisync-bench" "$@"
