#!/usr/bin/env bash
# The chaos checker (issue 16; docs/reliability.md, "Chaos"): installs what is missing, builds
# the daemon and the checker (RelWithDebInfo, in build/), then the checker starts a testbed of
# its own, two daemon replicas, the workload and the faults, and ends with
# `converged: 0 lost, 0 orphans, 0 duplicates, 0 quiescent writes` or a report of what diverged.
# Usage: bash tests/chaos/run.sh [--smoke] [--seed N] [checker flags (--help)]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/tests/build-release.sh" kube-bisync kube-bisync-chaos
exec "$root/build/tests/chaos/kube-bisync-chaos" "$@"
