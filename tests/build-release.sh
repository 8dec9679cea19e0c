#!/usr/bin/env bash
# Installs what is missing and builds the given targets in build/ (RelWithDebInfo, warnings as
# errors), as tests/run-all.sh's normal build does: for the benchmark and chaos commands
# (tests/bench/run.sh, tests/chaos/run.sh). Output goes to stderr, so theirs stays clean.
# Usage: bash tests/build-release.sh TARGET...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tests/setup.sh" >&2
# Let ccache share results between checkouts at different paths, as tests/run-all.sh does.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBISYNC_WERROR=ON \
  >/dev/null
cmake --build "$root/build" -j"${BISYNC_JOBS:-2}" --target "$@" >&2
