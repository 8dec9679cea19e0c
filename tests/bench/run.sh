#!/usr/bin/env bash
# The benchmark command (issue 5; docs/benchmarks.md): installs what is missing, builds the
# daemon and the benchmark driver (RelWithDebInfo, in build/), then the driver starts the
# testbed (etcd and two real kube-apiservers), runs every scenario against kube-bisync as a
# separate process, prints one table and writes bench-results.json in the current folder.
# Usage: bash tests/bench/run.sh [driver flags: --smoke, --objects N, --rate R, ... (--help)]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/tests/setup.sh" >&2
# Let ccache share results between checkouts at different paths, as tests/run-all.sh does.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBISYNC_WERROR=ON \
  >/dev/null
cmake --build "$root/build" -j"${BISYNC_JOBS:-2}" --target kube-bisync kube-bisync-bench >&2
exec "$root/build/tests/bench/kube-bisync-bench" "$@"
