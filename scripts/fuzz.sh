#!/usr/bin/env bash
# make fuzz: every fuzz target of the project (found, not listed: any
# func FuzzX in a _test.go), one after the other, for FUZZTIME each, seeded
# from each package's testdata and f.Add seeds. Prints one line per target:
# executions, new corpus entries, and PASS or the failure (its input is
# kept under the package's testdata/fuzz/ for `go test` to replay).
#
#   scripts/fuzz.sh                       # 10m per target
#   FUZZTIME=2m scripts/fuzz.sh           # shorter
#   FUZZ_PARALLEL=1 scripts/fuzz.sh       # one worker (shared machines)
#   FUZZ_MATCH=mm7 scripts/fuzz.sh        # only packages whose path matches
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
fuzztime=${FUZZTIME:-10m}
parallel=${FUZZ_PARALLEL:-$(nproc)}
match=${FUZZ_MATCH:-.}
out=${FUZZ_OUT:-fuzz-results}
mkdir -p "$out"

mapfile -t targets < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's|^\./(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u | grep -E "$match")

printf '%-34s %-22s %12s %8s  %s\n' package target execs new result | tee "$out/summary.txt"
failed=0
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	log="$out/${pkg//\//_}.$name.log"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel "$parallel" "./$pkg/" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1)
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
	new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	result=PASS
	if [ $rc -ne 0 ]; then
		result="FAIL: $(grep -m1 -E 'Failing input written to|panic:|--- FAIL' "$log" | tr -s ' ')"
		failed=$((failed + 1))
	fi
	printf '%-34s %-22s %12s %8s  %s\n' "$pkg" "$name" "${execs:-?}" "${new:-?}" "$result" | tee -a "$out/summary.txt"
done
[ $failed -eq 0 ]
