#!/usr/bin/env bash
# make bench: every benchmark of the project, and the reference tools the
# issues compare against, on this machine. Results go to $BENCH_OUT
# (default bench-results/) as Go benchmark text, readable by benchstat.
#
#   scripts/bench.sh                 # everything
#   COUNT=10 scripts/bench.sh        # more samples (benchstat wants >= 6)
#   E2E_N=500 scripts/bench.sh       # more messages through Prosody
#   OUTAGE=10m scripts/bench.sh      # a longer XMPP outage before the drain
#   SOAK=30m scripts/bench.sh        # a longer soak for the memory curve
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
out=${BENCH_OUT:-bench-results}
count=${COUNT:-6}
e2e_n=${E2E_N:-200}
mkdir -p "$out"

command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest

echo "== parsers, storage, vCard (count=$count)"
go test -run '^$' -bench . -benchmem -count "$count" \
	./mmsbridge/mm7/ ./mmsbridge/email/ ./vcard/ ./storage/sqlite/ ./storage/postgres/ | tee "$out/units.txt"

echo "== accepted MMS/s per storage backend, text-only and with a 1280x960 JPEG; 1-3 nodes on one PostgreSQL"
go test -run '^$' -bench Accept -benchtime 5s -count 1 -tags "nodynamic $(pkg-config --exists vips 2>/dev/null && echo vips)" ./internal/app/ | tee "$out/accept.txt"

echo "== MM7 POST to a contact's PEP event through Prosody ($e2e_n messages, 1280x960 JPEG)"
go test -run '^$' -bench MM7ToPEPEvent -benchtime "${e2e_n}x" -count 1 -tags "nodynamic $(pkg-config --exists vips 2>/dev/null && echo vips)" ./internal/app/ | tee "$out/e2e.txt"

echo "== a backlog of 3,000 status updates for 20 accounts drained into Prosody, publish.concurrency 1 and 16"
go test -run '^$' -bench BacklogDrain -benchtime 1x -count 1 ./internal/app/ | tee "$out/backlog.txt"

echo "== an XMPP outage of ${OUTAGE:-15s} at ${OUTAGE_RATE:-40} MMS/s, then the drain (OUTAGE=10m for issue 19's figure)"
go test -run '^$' -bench OutageDrain -benchtime 1x -count 1 -timeout 60m ./internal/testkit/faulttest/ | tee "$out/outage.txt"

echo "== serve's memory over a soak of ${SOAK:-1m} at ${SOAK_RATE:-30} MMS/s (SOAK=30m for issue 19's curve)"
go test -run '^$' -bench Soak -benchtime 1x -count 1 -timeout 90m -v ./internal/testkit/faulttest/ | grep -v '^=== ' | tee "$out/soak.txt"

echo "== avatar step beside ImageMagick and libvips"
if [ -x scripts/bench-avatar.sh ]; then
	scripts/bench-avatar.sh | tee "$out/avatar.txt"
else
	scripts/bench-avatar-reference.sh | tee "$out/avatar.txt"
fi

echo "== summary"
benchstat "$out/units.txt" | tee "$out/units-benchstat.txt"
echo "results in $out/"
