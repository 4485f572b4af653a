#!/usr/bin/env bash
# Installs the .deb into a clean Debian 12 root, checks what the package put
# there, purges it and checks what is left. Usage: install-test.sh [DEB]
# (default: the newest dist/mmsprofile_*.deb). Run as root.
#
# The bare root is built once and cached (rebuilt when its recipe changes or
# is a week old); each run works on an overlay over it (a copy where that
# is refused), so that the cache never sees the package. The .debs apt fetches (libvips and its libraries) are
# kept in a cache of their own: a cached run downloads nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${MMSPROFILE_ROOTS:-/var/cache/mmsprofile-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
root=$dir/bookworm
archives=$dir/bookworm-archives
# systemd is there, not running, as on the machines the package is for: the
# maintainer scripts create the user with systemd-sysusers, and
# systemd-analyze checks the unit. The package lists stay in the root: a run
# then needs no apt-get update.
pkgs=systemd
recipe="bookworm apt lists $pkgs v1"

command -v mmdebstrap >/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}
command -v lintian >/dev/null || { echo "install-test: lintian is missing (make deps)" >&2; exit 1; }
mkdir -p "$dir" "$archives/partial"

# Runs at once (CI and a developer) share the root: one rebuilds it while
# none uses it.
exec 9>"$dir/bookworm.lock"
flock -x 9

if [ ! -f "$root/.mmsprofile-root" ] || [ "$(cat "$root/.mmsprofile-root")" != "$recipe" ] ||
  [ -n "$(find "$root/.mmsprofile-root" -mtime +7)" ]; then
  echo "building the Debian root $root"
  rm -rf "$root.tmp"
  # A private mount namespace: what mmdebstrap mounts inside the root never
  # shows on the host, even if it is interrupted.
  unshare --mount --propagation private -- mmdebstrap --mode=root --variant=apt \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --skip=cleanup/apt/lists --include="$pkgs" \
    bookworm "$root.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" >/dev/null
  echo "$recipe" >"$root.tmp/.mmsprofile-root"
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi
flock -s 9

deb=$(realpath "${1:-$(ls -t "$here"/dist/mmsprofile_*.deb | head -1)}")
[ -f "$deb" ] || { echo "install-test: no package (make deb)" >&2; exit 1; }
echo "install-test: $deb ($(du -k "$deb" | cut -f1) KiB)"

# lintian on the host: errors fail the test, warnings are shown. Its
# spelling tags name strings of the Go modules linked in, not ours.
lintian --fail-on error -I --pedantic --suppress-tags spelling-error-in-binary "$deb"

work=$(mktemp -d /var/tmp/mmsprofile-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The mounts (the copy of the root, /proc, /dev) live in a namespace of
# their own and vanish with it, whatever happens inside.
unshare --mount --propagation private -- \
  "$here/scripts/install-test-inside.sh" "$root" "$archives" "$work" "$deb"
