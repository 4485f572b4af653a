#!/usr/bin/env bash
# Builds dist/mmsprofile_<version>_<arch>.deb with nfpm (make deb). Needs
# libvips-dev and dpkg-dev (scripts/install-deps.sh installs both).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
# nfpm runs from its own module, at a pinned version: its dependency tree is
# large and only the packaging needs it, so it stays out of our go.mod.
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0}
version=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}

# Debian versions must start with a digit and sort in time: a tag v1.2.3
# gives 1.2.3 (1.2.3+4.gabc1234 after it), no tag 0~gitDATE.HASH.
if desc=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
  DEB_VERSION=$(sed -E 's/^v//; s/-([0-9]+)-g/+\1.g/' <<<"$desc")
else
  DEB_VERSION="0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$(git rev-parse --short=7 HEAD)"
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  DEB_VERSION+="+dirty"
fi
ARCH=$(dpkg --print-architecture)
# Whoever builds a package for others sets their own address.
MAINTAINER=${MAINTAINER:-mmsprofile maintainers <maintainers@example.org>}

pkg-config --exists vips || { echo "deb: libvips-dev is missing (make deps)" >&2; exit 1; }
command -v dpkg-shlibdeps >/dev/null || { echo "deb: dpkg-dev is missing (make deps)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
# dpkg-shlibdeps reads the binary from where debhelper would stage it.
mkdir -p "$STAGE/debian/mmsprofile/usr/bin" "$STAGE/debian/mmsprofile/DEBIAN"
printf "Source: mmsprofile\n\nPackage: mmsprofile\nArchitecture: any\n" >"$STAGE/debian/control"
bin=$STAGE/debian/mmsprofile/usr/bin/mmsprofile

# The libvips backend, as make build; PIE and stripped, as Debian wants
# its binaries.
CGO_ENABLED=1 "$GO" build -tags "nodynamic vips" -trimpath -buildmode=pie \
  -ldflags "-s -w -X main.version=$version -extldflags=-Wl,-z,relro,-z,now" -o "$bin" ./cmd/mmsprofile
# The whole output, not a pipe into grep -q: under pipefail, a grep that
# stops reading early fails the writer.
out=$("$bin" version) && [[ $out == "mmsprofile $version"$'\n'* ]] ||
  { echo "deb: the built binary does not run: $out" >&2; exit 1; }

SHLIBS_DEPENDS=$(cd "$STAGE" && dpkg-shlibdeps -O -e debian/mmsprofile/usr/bin/mmsprofile | sed -n 's/^shlibs:Depends=//p')
case $SHLIBS_DEPENDS in
*libvips*) ;;
*) echo "deb: the binary links no libvips (Depends: $SHLIBS_DEPENDS)" >&2; exit 1 ;;
esac
ln "$bin" "$STAGE/mmsprofile"

# The packaged unit is the one in packaging/, pointed at /usr/bin and
# without the by-hand install steps in its header.
sed -e 's#/usr/local/bin/mmsprofile#/usr/bin/mmsprofile#g' -e '/^# Install:/,/^#$/d' \
  packaging/mmsprofile.service >"$STAGE/mmsprofile.service"
if grep -q /usr/local "$STAGE/mmsprofile.service"; then
  echo "deb: the unit still names /usr/local" >&2; exit 1
fi

"$bin" man | sed "s/^\.TH MMSPROFILE 8 \"\"/.TH MMSPROFILE 8 \"$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%d)\"/" |
  gzip -9n >"$STAGE/mmsprofile.8.gz"
"$bin" completion >"$STAGE/mmsprofile.bash-completion"
gzip -9nc config.example.toml >"$STAGE/config.example.toml.gz"

# A Debian changelog of one entry, for this build: the history is in git.
{
  echo "mmsprofile ($DEB_VERSION) unstable; urgency=medium"
  echo
  echo "  * Built from $(git rev-parse HEAD)."
  echo "    $(git log -1 --format=%s | cut -c1-72)"
  echo
  echo " -- $MAINTAINER  $(TZ=UTC git log -1 --format=%cd --date=format-local:'%a, %d %b %Y %H:%M:%S +0000')"
} | gzip -9n >"$STAGE/changelog.gz"

mkdir -p dist
out=dist/mmsprofile_${DEB_VERSION}_${ARCH}.deb
rm -f "$out"
export ARCH DEB_VERSION MAINTAINER SHLIBS_DEPENDS STAGE
GOFLAGS= "$GO" run "$NFPM" package --config packaging/deb/nfpm.yaml --packager deb --target "$out"
ls -l "$out"
