#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on Debian 12, skipping
# what is already there. Run as root.
set -euo pipefail

pkgs=(prosody prosody-modules imagemagick)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged Prosody on its default ports; ours run on their
# own ports from their own configs, so the system one is not needed.
if command -v systemctl >/dev/null && systemctl is-active --quiet prosody 2>/dev/null; then
  systemctl stop prosody || true
fi

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  export PATH=$PATH:/usr/local/go/bin
fi
command -v go >/dev/null || { echo "Go 1.26 is required (https://go.dev/dl)"; exit 1; }
go mod download
