#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian 12 machine
# (as root), then builds kube-apiserver for the testbed (cached after the first run).
# Idempotent: a second run installs nothing and returns in seconds.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcurl4-openssl-dev rapidjson-dev libboost1.81-dev libyaml-cpp-dev catch2
  libspdlog-dev libcli11-dev libexpected-dev libssl-dev
  clang-format
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  kubernetes-client
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl may come from elsewhere (it is a real client for the demo and tests): keep it.
if command -v kubectl >/dev/null 2>&1; then
  missing=("${missing[@]/kubernetes-client}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

here=$(cd "$(dirname "$0")" && pwd)
bash "$here/testbed/install.sh" >/dev/null
