#!/usr/bin/env bash
# The one test command: installs what is missing, builds, and runs every test (unit and
# integration against real kube-apiservers) twice: in a normal build with warnings as
# errors, then under AddressSanitizer + UndefinedBehaviorSanitizer; then a smoke run of the
# benchmark driver (tests/bench) and of the chaos checker (tests/chaos) in the normal build; then
# the fuzz targets (tests/fuzz).
# Usage: bash tests/run-all.sh [--quick]   (--quick: skip the sanitizer pass)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tests/setup.sh
jobs=${BISYNC_JOBS:-2}
# Let ccache share results between checkouts at different paths (CI clones afresh).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

echo "== format check"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

# run_suite DIR "CTEST ARGS" CMAKE ARGS...
run_suite() {
  local dir=$1 ctest_args=$2; shift 2
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -G Ninja -DBISYNC_WERROR=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j"$jobs"
  echo "== test $dir $ctest_args"
  # shellcheck disable=SC2086 # ctest_args is a list of words
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j1 $ctest_args)
}

if [ "$quick" = 0 ]; then
  # Tests labelled `slow` (a quarter of a GiB through the API servers) run in the normal build
  # only: under the sanitizers they would cost minutes and find nothing the fast ones do not.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan "-LE slow" -DCMAKE_BUILD_TYPE=Debug -DBISYNC_SANITIZE=address,undefined
fi
# The normal build's tests run last (only the short benchmark smoke run follows), so that the
# output ends close to their CTest summary.
run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo

# The benchmark driver at tiny sizes (under a minute), so that it keeps working; it fails only
# when a scenario cannot complete, never on a missed target. The full run is
# `bash tests/bench/run.sh` (docs/benchmarks.md).
echo "== benchmark smoke run (build)"
build/tests/bench/kube-bisync-bench --smoke --output build/bench-smoke.json

# The chaos checker at its smoke size (about two minutes): one round of the seeded workload with
# every fault kind once, on a testbed of its own; it fails unless both clusters converge with
# nothing lost, orphaned, duplicated or rewritten. A new seed each run (printed first, with the
# command that replays it). docs/reliability.md, "Chaos".
echo "== chaos smoke run (build)"
bash tests/chaos/run.sh --smoke

# The libFuzzer targets (clang-14, ASan+UBSan, build-fuzz), each for BISYNC_FUZZ_SECONDS
# (default 30) seconds, two at a time; a crash fails the run and prints the reproducer's path.
# docs/reliability.md.
bash tests/fuzz/run.sh
