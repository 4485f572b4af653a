#!/usr/bin/env bash
# make bench-compare BASE=<commit>: the regression benchmarks of the speed
# work (MM7 POST to a contact's PEP event, accepted MMS/s on SQLite and
# PostgreSQL, the backlog drain, the avatar step) at BASE and at the
# working tree, COUNT samples each, interleaved so both share the
# machine's load, then benchstat.
#
#   BASE=688474e COUNT=6 scripts/bench-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
base=${BASE:?set BASE to the commit to compare against}
count=${COUNT:-6}
out=${BENCH_OUT:-bench-results}/compare
tags="nodynamic $(pkg-config --exists vips 2>/dev/null && echo vips)"
mkdir -p "$out"
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest

tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git worktree add -q --detach "$tree" "$base"

# The wiring moved from internal/server to internal/app; a base from
# before the move has its benchmarks there.
appdir() { if [ -d "$1/internal/app" ]; then echo ./internal/app/; else echo ./internal/server/; fi; }

run() { # run DIR FILE
	local dir=$1 file=$2 app
	app=$(appdir "$dir")
	(
		cd "$dir"
		go test -run '^$' -bench 'MM7ToPEPEvent' -benchtime 60x -count 1 -tags "$tags" "$app"
		go test -run '^$' -bench 'Accept/.*/photo' -benchtime 3s -count 1 -tags "$tags" "$app"
		go test -run '^$' -bench 'BacklogDrain' -benchtime 1x -count 1 -tags "$tags" "$app"
		go test -run '^$' -bench 'Make/1280x960' -benchmem -count 1 -tags "$tags" ./avatar/
	) 2>&1 | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' >>"$file"
}

: >"$out/before.txt"
: >"$out/after.txt"
for i in $(seq "$count"); do
	echo "== round $i of $count"
	run "$tree" "$out/before.txt"
	run "$PWD" "$out/after.txt"
done
# benchstat pairs benchmarks by name; the package line differs after the
# move, so it is dropped from both sides.
sed -i '/^pkg:/d' "$out/before.txt" "$out/after.txt"
benchstat "$out/before.txt" "$out/after.txt" | tee "$out/benchstat.txt"
