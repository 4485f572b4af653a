#!/usr/bin/env bash
# Builds, once, the Debian 13 roots the integration tests run newer servers
# from (Debian 12 cannot install them beside its own): trixie (ejabberd 24.12,
# Prosody 13.0) and trixie with backports preferred (ejabberd 26.07, Prosody
# 13.0.6). Each is rebuilt only when its package list changes. Run as root.
set -euo pipefail

dir=${MMSPROFILE_ROOTS:-/var/cache/mmsprofile-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# mmdebstrap installs no Recommends: name what the servers need.
pkgs=ejabberd,prosody,prosody-modules,lua-unbound

command -v mmdebstrap >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}
mkdir -p "$dir"

build() { # name, extra mmdebstrap arguments...
  local name=$1; shift
  local root=$dir/$name stamp="$pkgs $*"
  if [ -f "$root/.mmsprofile-root" ] && [ "$(cat "$root/.mmsprofile-root")" = "$stamp" ]; then
    return
  fi
  echo "building the Debian root $root"
  rm -rf "$root.tmp"
  # A private mount namespace: what mmdebstrap mounts inside the root never
  # shows on the host, even if it is interrupted.
  unshare --mount --propagation private -- mmdebstrap --mode=root --variant=apt \
    --include="$pkgs" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    "$@" trixie "$root.tmp" \
    "deb $mirror trixie main" "deb $mirror trixie-updates main" "deb $security trixie-security main" \
    ${BACKPORTS:+"deb $mirror trixie-backports main"} >/dev/null
  echo "$stamp" >"$root.tmp/.mmsprofile-root"
  rm -rf "$root"
  mv "$root.tmp" "$root"
}

build trixie
# 26.07 needs its erlang-p1-* from backports as well: prefer backports for
# the servers and Erlang.
pin='Package: ejabberd* erlang-* elixir* prosody* lua-*
Pin: release n=trixie-backports
Pin-Priority: 990'
BACKPORTS=1 build trixie-backports \
  --setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" && printf '%s\n' '$pin' >\"\$1/etc/apt/preferences.d/backports\""
