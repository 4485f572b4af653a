#!/usr/bin/env bash
# The install test's body (scripts/install-test.sh runs it inroot a mount
# namespace of its own): installs the package into a copy of the clean root,
# checks what it put there, upgrades, purges and checks what is left.
# Usage: install-test-inside.sh ROOT ARCHIVES WORKDIR DEB
set -euo pipefail

clean=$1 archives=$2 work=$3 deb=$4
r=$work/root
mkdir -p "$r" "$work/upper" "$work/work"
# The cached root stays untouched: an overlay, or a copy where the file
# system refuses one.
if ! mount -t overlay overlay -o "lowerdir=$clean,upperdir=$work/upper,workdir=$work/work" "$r" 2>/dev/null; then
  cp -a "$clean/." "$r/"
fi
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --bind "$archives" "$r/var/cache/apt/archives"
cp -L /etc/resolv.conf "$r/etc/resolv.conf"
cp "$deb" "$r/tmp/"
pkg=/tmp/$(basename "$deb")

inroot() { chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
# The cache's owner is the host's, not the root's _apt.
apt=(apt-get -q -o APT::Sandbox::User=root)

echo "install-test: apt-get install $pkg"
if ! inroot "${apt[@]}" install -y "$pkg"; then
  # Lists older than the mirror's packages: refresh them inroot the copy.
  inroot "${apt[@]}" update
  inroot "${apt[@]}" install -y "$pkg"
fi

echo "install-test: checking the installed package"
# Whole outputs, not pipes into grep -q: under pipefail a grep that stops
# reading early fails the writer.
out=$(inroot mmsprofile version 2>&1) || fail "mmsprofile version: $out"
echo "$out"
[[ $out == "mmsprofile "* ]] || fail "mmsprofile version: $out"
# As the service user: the configuration must be readable by it.
inroot runuser -u mmsprofile -- mmsprofile check-config -config /etc/mmsprofile/config.toml ||
  fail "check-config as mmsprofile"

user=$(inroot getent passwd mmsprofile) || fail "no user mmsprofile"
IFS=: read -r _ _ uid _ _ home shell <<<"$user"
[ "$uid" -lt 1000 ] || fail "mmsprofile is not a system user: $user"
[ "$home" = /var/lib/mmsprofile ] || fail "home of mmsprofile: $home"
[ "$shell" = /usr/sbin/nologin ] || fail "shell of mmsprofile: $shell"
inroot getent group mmsprofile >/dev/null || fail "no group mmsprofile"

want_mode() { # path, "mode owner group"
  local got
  got=$(inroot stat -c '%a %U %G' "$1") || fail "$1 missing"
  [ "$got" = "$2" ] || fail "$1 is $got, want $2"
}
want_mode /etc/mmsprofile "750 root mmsprofile"
want_mode /etc/mmsprofile/config.toml "640 root mmsprofile"
want_mode /var/lib/mmsprofile "750 mmsprofile mmsprofile"
want_mode /usr/bin/mmsprofile "755 root root"
want_mode /lib/systemd/system/mmsprofile.service "644 root root"
out=$(inroot dpkg-query -W -f='${Conffiles}\n' mmsprofile)
[[ $out == *" /etc/mmsprofile/config.toml "* ]] || fail "config.toml is not a conffile: $out"
out=$(inroot zcat /usr/share/man/man8/mmsprofile.8.gz) || fail "no man page"
[[ $out == ".TH MMSPROFILE 8 "* ]] || fail "man page without .TH"
[ -f "$r/usr/share/bash-completion/completions/mmsprofile" ] || fail "no bash completion"
for f in copyright changelog.gz; do
  [ -f "$r/usr/share/doc/mmsprofile/$f" ] || fail "/usr/share/doc/mmsprofile/$f missing"
done

# An unconfigured service is neither enabled nor started.
[ ! -e "$r/etc/systemd/system/multi-user.target.wants/mmsprofile.service" ] ||
  fail "the service was enabled on first install"
inroot systemd-analyze verify /lib/systemd/system/mmsprofile.service || fail "systemd-analyze verify"
inroot systemd-analyze security --offline=true /lib/systemd/system/mmsprofile.service | tail -1

# An upgrade (the same package again) migrates the database as the user.
echo "install-test: upgrade"
inroot dpkg -i "$pkg" >/dev/null
want_mode /var/lib/mmsprofile/state.db "640 mmsprofile mmsprofile"
out=$(inroot runuser -u mmsprofile -- mmsprofile migrate -config /etc/mmsprofile/config.toml 2>&1) ||
  fail "migrate after upgrade: $out"

echo "install-test: apt-get purge mmsprofile"
inroot "${apt[@]}" purge -y mmsprofile >/dev/null
out=$(inroot dpkg-query -W -f='${Status}\n' mmsprofile 2>&1 || true)
[[ $out != *installed* || $out == *not-installed* ]] || fail "mmsprofile is still installed: $out"
for p in /etc/mmsprofile /var/lib/mmsprofile /usr/bin/mmsprofile /lib/systemd/system/mmsprofile.service \
  /usr/lib/sysusers.d/mmsprofile.conf /usr/share/doc/mmsprofile /usr/share/man/man8/mmsprofile.8.gz; do
  [ ! -e "$r$p" ] || fail "$p is left after purge"
done
# Anything else of ours left, but dpkg's and apt's records of what they
# did (and the package itself, in /tmp). The user may stay (policy).
left=$(cd "$r" && find . -xdev -name '*mmsprofile*' \
  -not -path ./.mmsprofile-root -not -path './tmp/*' -not -path './var/log/*' -not -path './var/lib/dpkg/*' -not -path './var/cache/*' -not -path './proc/*')
[ -z "$left" ] || fail "left after purge: $left"
echo "install-test: ok"
