#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp) with clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz, then runs each for BISYNC_FUZZ_SECONDS seconds
# (default 30; 0 only builds), BISYNC_FUZZ_JOBS at a time (default 2), starting from the
# checked-in corpus tests/fuzz/corpus/<target>. A crash, a property violation, a leak or a hang
# (an input taking over 10 s) fails the run and prints the reproducer's path; replay it with
# `build-fuzz/tests/fuzz/fuzz_<target> <path>`. New inputs the fuzzer finds go to
# build-fuzz/corpus/<target>, never into the checkout. docs/reliability.md has the details.
# Usage: bash tests/fuzz/run.sh [target...]   (default: every target)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${BISYNC_FUZZ_SECONDS:-30}
parallel=${BISYNC_FUZZ_JOBS:-2}
build=build-fuzz
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

echo "== configure $build (clang-14, libFuzzer, ASan+UBSan)"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DBISYNC_FUZZ=ON -DBISYNC_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "== build $build"
cmake --build "$build" -j"${BISYNC_JOBS:-2}"
[ "$seconds" = 0 ] && exit 0

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in tests/fuzz/*_fuzz.cpp; do
    name=$(basename "$source" _fuzz.cpp)
    targets+=("$name")
  done
fi

# Runs one target; its log is $build/fuzz-<target>.log.
run_target() {
  local name=$1
  local corpus="$build/corpus/$name" artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$name" \
    </dev/null >"$build/fuzz-$name.log" 2>&1
}

report() {
  local name=$1 status=$2 log="$build/fuzz-$1.log"
  local runs coverage
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ "$status" = 0 ]; then
    echo "fuzz $name: ok, ${runs:-?} runs in ${seconds}s, ${coverage:-cov: ?} edges"
    return 0
  fi
  echo "fuzz $name: FAILED (exit $status); the end of $log:"
  grep -v -e '^#[0-9]' -e '^\s*NEW_FUNC' "$log" | tail -40
  for reproducer in "$build/artifacts/$name"/*; do
    [ -e "$reproducer" ] && echo "reproducer: $root/$reproducer (replay: $build/tests/fuzz/fuzz_$name $reproducer)"
  done
  return 1
}

failed=0
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
  batch=("${targets[@]:i:parallel}")
  pids=()
  for name in "${batch[@]}"; do
    echo "== fuzz $name for ${seconds}s"
    run_target "$name" &
    pids+=($!)
  done
  for j in "${!batch[@]}"; do
    status=0
    wait "${pids[$j]}" || status=$?
    report "${batch[$j]}" "$status" || failed=1
  done
done
exit $failed
