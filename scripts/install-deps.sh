#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on Debian 12, skipping
# what is already there. Run as root.
set -euo pipefail

# Real servers the integration tests start (each in its own temp dir, on
# loopback ports), the SMTP client they send with, and the reference image
# tools the benchmarks compare against.
pkgs=(prosody prosody-modules ejabberd postgresql postfix swaks imagemagick libvips-tools libjpeg-turbo-progs)
# The avatar package's accelerated backend (go build -tags vips): cgo against
# libvips, which reads HEIC/AVIF through libheif.
pkgs+=(gcc pkg-config libvips-dev libheif1)
# promtool, with which the packaging tests check the alert rules and the
# /metrics exposition.
pkgs+=(prometheus)
# make deb (dpkg-shlibdeps computes the package's Depends) and the install
# test (a clean Debian 12 root; lintian on the package).
pkgs+=(dpkg-dev mmdebstrap lintian)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix is only for the tests' own throwaway instances: no system mailer.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian may start the packaged servers on their default ports; ours run on
# their own ports from their own configs, so the system ones are not needed.
for svc in prosody ejabberd postgresql postfix prometheus; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
    pg_ctlcluster "$ver" "$name" stop || true
  done
fi

# Debian 13's ejabberd 24.12 and trixie-backports' 26.07 (and Prosody 13),
# which the integration tests run from roots of their own.
"$(dirname "$0")/debian13-roots.sh"

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH=$PATH:/usr/local/go/bin
fi
command -v go >/dev/null || { echo "Go 1.26 is required (https://go.dev/dl)"; exit 1; }
go mod download
