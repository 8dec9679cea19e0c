#!/usr/bin/env bash
# Builds the image of this folder's Dockerfile without a Docker engine, to check that it works
# on Debian 12 where no engine runs (CI machines, this project's development machines): each
# stage is a Debian 12 root made by debootstrap, RUN lines run in it under chroot, COPY copies
# from the build context (the repository root) or from an earlier stage. At the end the image's
# ENTRYPOINT runs with --help as the image's USER, which fails if a shared library is missing.
# Needs root and debootstrap. Usage: sudo bash examples/deploy/check-dockerfile.sh [WORKDIR]
# Interprets only the instructions this Dockerfile uses (FROM ... AS, RUN with \ continuations,
# COPY [--from], WORKDIR, USER, EXPOSE, ENTRYPOINT); anything else fails loudly.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
context=$(cd "$here/../.." && pwd)
work=${1:-/var/tmp/kube-bisync-image-check}
mkdir -p "$work"
declare -A stages
stage="" workdir="/" user="root" entrypoint=""

cleanup() { for s in "${stages[@]}"; do umount "$s/proc" 2>/dev/null || true; done; }
trap cleanup EXIT

from() {  # from IMAGE [AS NAME]
  local image=$1 name=${3:-final} variant=
  [ "$image" = "debian:12-slim" ] && variant=--variant=minbase
  [ "${image%%-*}" = "debian:12" ] || { echo "check-dockerfile: cannot make $image" >&2; exit 1; }
  stage="$work/$name"
  if [ ! -x "$stage/bin/sh" ]; then
    echo "== debootstrap $image -> $stage" >&2
    debootstrap $variant bookworm "$stage" http://deb.debian.org/debian >/dev/null
  fi
  mountpoint -q "$stage/proc" || mount -t proc proc "$stage/proc"
  stages[$name]=$stage
  workdir="/" user="root"
}

copy() {  # copy [--from=STAGE] SRC... DST
  local root=$context
  if [[ $1 == --from=* ]]; then root=${stages[${1#--from=}]}; shift; fi
  local dst=${*: -1} srcs=("${@:1:$#-1}")
  [[ $dst == /* ]] || dst="$workdir/$dst"
  mkdir -p "$stage/$(dirname "$dst")"
  for src in "${srcs[@]}"; do
    if [ "${#srcs[@]}" -gt 1 ] || [[ $dst == */ ]]; then
      mkdir -p "$stage/$dst"; cp -a "$root/$src" "$stage/$dst/"
    else
      cp -a "$root/$src" "$stage/$dst"
    fi
  done
}

run() { echo "== RUN $*" >&2; chroot "$stage" /bin/sh -c "cd $workdir && $*"; }

instruction=""
while IFS= read -r line || [ -n "$line" ]; do
  [[ $line =~ ^[[:space:]]*(#|$) ]] && [ -z "$instruction" ] && continue
  instruction+="${line%\\} "
  [[ $line == *\\ ]] && continue
  read -r verb rest <<<"$instruction"
  instruction=""
  case $verb in
    FROM) from $rest ;;
    RUN) run "$rest" ;;
    COPY) copy $rest ;;
    WORKDIR) workdir=$rest; mkdir -p "$stage/$workdir" ;;
    USER) user=$rest ;;
    EXPOSE) ;;
    ENTRYPOINT) entrypoint=$(echo "$rest" | tr -d '[]",') ;;
    *) echo "check-dockerfile: $verb is not interpreted" >&2; exit 1 ;;
  esac
done <"$here/Dockerfile"

echo "== $entrypoint --help as $user" >&2
chroot --userspec="$user" "$stage" $entrypoint --help | head -3
echo "check-dockerfile: ok, image root in $stage" >&2
