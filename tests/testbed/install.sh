#!/usr/bin/env bash
# Installs what the real-API-server testbed needs and builds kube-apiserver,
# kube-controller-manager and kube-scheduler from Debian's `kubernetes` source package. The binaries are cached
# outside the checkout, in one folder keyed by the package version and the recipe number, so
# only the first run on a machine pays for the build (several minutes).
#
# Prints the path of the cached kube-apiserver binary on its last line; kube-controller-manager
# and kube-scheduler are sibling files of the same folder.
# Environment: KUBE_BISYNC_CACHE (default /var/cache/kube-bisync),
# KUBE_BISYNC_BUILD_JOBS (Go build parallelism, default 2).
set -euo pipefail

cache_root=${KUBE_BISYNC_CACHE:-/var/cache/kube-bisync}
log() { echo "testbed-install: $*" >&2; }

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2
    apt_updated=1
  fi
}

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_update_once
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

# deb-src for the suites this machine already uses, so `apt-get source` finds the package.
ensure_deb_src() {
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return
  fi
  local src=/etc/apt/sources.list.d/debian.sources
  if [ -f "$src" ]; then
    sed -e 's/^Types: deb$/Types: deb-src/' "$src" >/etc/apt/sources.list.d/kube-bisync-deb-src.sources
  else
    local codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "deb-src http://deb.debian.org/debian $codename main" >/etc/apt/sources.list.d/kube-bisync-deb-src.list
  fi
  apt_updated=0
  apt_update_once
}

ensure_packages etcd-server etcd-client golang-1.19-go rsync openssl dpkg-dev ca-certificates make
ensure_deb_src
if [ "$apt_updated" = 0 ] && ! apt-cache showsrc kubernetes >/dev/null 2>&1; then
  apt_update_once
fi

version=$(apt-cache showsrc kubernetes | awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || { log "no source package 'kubernetes' in the configured deb-src suites"; exit 1; }
# Bump when the build recipe or patches/ change, so machines rebuild instead of reusing.
# r3: adds kube-controller-manager.
# r4: adds kube-scheduler (the virtual-cluster workload tests schedule Pods on the target).
recipe=4
dest="$cache_root/kube-apiserver-$version-r$recipe"
bin="$dest/kube-apiserver"
binaries=(kube-apiserver kube-controller-manager kube-scheduler)
# Older recipes whose binaries are built exactly as this one builds them (a bump that only
# adds a binary): their binaries are copied instead of linked again (a minute each).
same_build_as=(3)

usable() { [ -x "$1" ] && [ -s "$1" ]; }
# The binaries of `binaries` not in the cache yet, as make targets (cmd/NAME).
missing_targets() {
  local b
  for b in "${binaries[@]}"; do
    usable "$dest/$b" || echo "cmd/$b"
  done
}

if [ -z "$(missing_targets)" ]; then
  echo "$bin"
  exit 0
fi

# Binaries an older, identical recipe built already (copy, then rename: atomic for readers).
reuse_older_builds() {
  local r b old
  mkdir -p "$dest"
  for r in "${same_build_as[@]}"; do
    for b in "${binaries[@]}"; do
      old="$cache_root/kube-apiserver-$version-r$r/$b"
      if ! usable "$dest/$b" && usable "$old"; then
        cp "$old" "$dest/$b.tmp" && mv "$dest/$b.tmp" "$dest/$b"
        log "reused $old"
      fi
    done
  done
}

# One build at a time per machine: parallel test binaries may all ask for the binaries.
mkdir -p "$cache_root"
exec 9>"$cache_root/build.lock"
flock 9
reuse_older_builds
mapfile -t targets < <(missing_targets)
if [ ${#targets[@]} -eq 0 ]; then
  echo "$bin"
  exit 0
fi

work="$cache_root/build-$version"
rm -rf "$work"
mkdir -p "$work"
log "fetching the kubernetes $version source package"
(cd "$work" && apt-get source -qq --download-only kubernetes >&2 && dpkg-source -x ./*.dsc src >&2)
# Fixes the vendored code needs to run when built with Go 1.19 (see patches/README.md).
here=$(cd "$(dirname "$0")" && pwd)
for p in "$here"/patches/*.patch; do
  log "applying $(basename "$p")"
  patch -s -p1 -d "$work/src" <"$p" >&2
done

# The Debian way (debian/rules): a GOPATH whose src/k8s.io/kubernetes is the source tree.
# All missing binaries in one `go install`, so the packages they share compile once. The
# build cache outlives the work folder, so a later build (a binary added, a recipe bump)
# reuses them too: hack/lib/golang.sh sets GOCACHE=_output/local/go/cache whatever the
# environment says, so that folder is a link to the cache (`rm -rf "$work"` keeps it).
gopath="$work/gopath"
mkdir -p "$gopath/src/k8s.io"
ln -s "$work/src" "$gopath/src/k8s.io/kubernetes"
mkdir -p "$cache_root/gocache" "$work/src/_output/local/go"
ln -s "$cache_root/gocache" "$work/src/_output/local/go/cache"
log "building ${targets[*]} (takes several minutes)"
started=$SECONDS
(
  cd "$gopath/src/k8s.io/kubernetes"
  # GOFLAGS stays empty: hack/lib/golang.sh reads build tags out of it. GOMAXPROCS bounds
  # the go command's parallel jobs (-p) and the compiler's threads instead.
  export GOPATH="$gopath" GOCACHE="$cache_root/gocache" CGO_ENABLED=0 GO111MODULE=off GOFLAGS=
  export GOMAXPROCS="${KUBE_BISYNC_BUILD_JOBS:-2}"
  export PATH="/usr/lib/go-1.19/bin:$PATH"
  export KUBE_GIT_VERSION="v${version%%-*}" KUBE_GIT_TREE_STATE=clean
  make WHAT="${targets[*]}" >&2
)
log "built ${targets[*]} in $((SECONDS - started)) s"
mkdir -p "$dest"
for target in "${targets[@]}"; do
  name=${target#cmd/}
  built=$(find "$work/src/_output" -type f -name "$name" -perm -u+x | head -n1)
  if [ -z "$built" ] || [ ! -s "$built" ]; then
    log "the build left no usable $name binary"
    exit 1
  fi
  cp "$built" "$dest/$name.tmp" && mv "$dest/$name.tmp" "$dest/$name"
  log "cached $dest/$name"
done
rm -rf "$work"
echo "$bin"
