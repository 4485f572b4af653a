#!/usr/bin/env bash
# Each hostile-peer class, one per process, with its time to refusal, the
# answer it got and the process's peak resident memory (VmHWM: the test
# binary, and for the network classes the hostile client too). The cases
# are the package tests that defend against them (TestHostile*, TestHTTP*),
# run with HOSTILE_MEASURE=1; timeouts are the tests' short ones (HTTP
# header 300ms / request 600ms, SMTP read and write 300ms), so "time" for
# those classes is the configured timeout, not a cost.
#
#   scripts/hostile.sh            # table on stdout
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# package  test  subtests ("" = the test itself)
cases=(
	"mmsbridge/mm7 TestHostileXML xxe billion-laughs deep-10000 attrs-100000 text-5MB"
	"mmsbridge/email TestHostileMIME parts-100000 header-line-1MB boundary-never-closes charset-utf-7"
	"mmsbridge/email TestHostileSMTPRecipients"
	"mmsbridge/email TestHostileSMTPLongLine"
	"mmsbridge/email TestHostileSMTPPipeliningFlood"
	"mmsbridge/email TestHostileSMTPNeverDot"
	"mmsbridge/email TestHostileSMTPSizeOverLimit"
	"avatar TestHostileImages PNG_bomb_60000x60000_vips PNG_bomb_60000x60000_go JPEG_bomb_60000x60000_vips JPEG_bomb_60000x60000_go GIF_bomb_60000x60000_vips GIF_bomb_60000x60000_go GIF_of_10000_frames_vips GIF_of_10000_frames_go WebP_bomb_16384x16384_vips WebP_bomb_16384x16384_go HEIC_grid_of_1000_tiles_vips HEIC_grid_of_1000_tiles_go HEIC_bomb_60000x60000_vips HEIC_bomb_60000x60000_go JPEG_of_200_scans_vips JPEG_of_200_scans_go"
	"internal/app TestHTTPSlowHeaderIsCut"
	"internal/app TestHTTPSlowBodyIsCut"
	"internal/app TestHTTPHugeHeaderRefused"
	"internal/app TestHTTPIdleKeepAlivesCapped"
	"internal/app TestHTTPThousandConnections"
)

# The image classes run on both backends: the _vips cases exist only in a
# build with libvips.
tags=nodynamic
pkg-config --exists vips 2>/dev/null && tags="$tags vips"

printf '| %-26s | %-12s | %-14s | %s |\n' class time peak_rss answer
printf '| --- | --- | --- | --- |\n'
for c in "${cases[@]}"; do
	read -r pkg test subs <<<"$c"
	bin="$tmp/${pkg//\//_}.test"
	[ -x "$bin" ] || go test -c -tags "$tags" -o "$bin" "./$pkg/"
	for sub in ${subs:-""}; do
		pattern="^${test}\$"
		[ -n "$sub" ] && pattern="$pattern/^${sub}\$"
		line=$(cd "$pkg" && HOSTILE_MEASURE=1 "$bin" -test.run "$pattern" -test.v -test.count=1 2>&1 | grep 'HOSTILE ' | tail -1 || true)
		if [ -z "$line" ]; then
			printf '| %-26s | %-12s | %-14s | %s |\n' "$test/$sub" "-" "-" "FAILED (run the test)"
			continue
		fi
		class=$(sed -E 's/.*class=([^ ]+).*/\1/' <<<"$line")
		time=$(sed -E 's/.*time=([^ ]+).*/\1/' <<<"$line")
		rss=$(sed -E 's/.*peak_rss="([^"]+)".*/\1/' <<<"$line")
		answer=$(sed -E 's/.*answer=(.*) peak_rss=.*/\1/' <<<"$line")
		printf '| %-26s | %-12s | %-14s | %s |\n' "$class" "$time" "$rss" "$answer"
	done
done
