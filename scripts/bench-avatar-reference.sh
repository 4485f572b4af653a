#!/bin/sh
# Times ImageMagick's convert against BenchmarkMake (package avatar) on the
# very same camera-like JPEGs, and prints ms/op for both and the ratio
# ours/convert. convert runs as a process per picture, which is what calling
# it from the component would cost, so its start-up is shown separately.
#
#   scripts/bench-avatar-reference.sh            # 3 rounds of 10 runs each
#   N=20 ROUNDS=5 scripts/bench-avatar-reference.sh
#   AVATAR_BENCH_DIR=/tmp/x scripts/bench-avatar-reference.sh   # keep files
#
# Timings on a shared machine are noisy, so each round runs both sides back
# to back (they see the same load) and the best round of each is reported.
set -eu

cd "$(dirname "$0")/.."
N=${N:-10}
ROUNDS=${ROUNDS:-3}
CONVERT=${CONVERT:-/usr/bin/convert}
dir=${AVATAR_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
: >"$dir/go-bench.txt"
: >"$dir/convert.txt"

# ms_per_op N CMD...: wall time of N runs of CMD, in ms per run.
ms_per_op() {
	runs=$1
	shift
	start=$(date +%s%N)
	i=0
	while [ "$i" -lt "$runs" ]; do
		"$@"
		i=$((i + 1))
	done
	end=$(date +%s%N)
	awk -v a="$start" -v b="$end" -v n="$runs" 'BEGIN { printf "%.1f", (b - a) / n / 1e6 }'
}

round=0
while [ "$round" -lt "$ROUNDS" ]; do
	# Also writes the inputs, $dir/1280x960.jpg and $dir/4000x3000.jpg.
	AVATAR_BENCH_DIR=$dir go test ./avatar/ -run '^$' -bench '^BenchmarkMake$' \
		-benchtime "${N}x" -count 1 >>"$dir/go-bench.txt"
	echo "startup $(ms_per_op "$N" "$CONVERT" -size 1x1 xc:white -strip "$dir/startup.png")" >>"$dir/convert.txt"
	for name in 1280x960 4000x3000; do
		ms=$(ms_per_op "$N" "$CONVERT" "$dir/$name.jpg" -auto-orient -thumbnail '128x128^' \
			-gravity center -extent 128x128 -strip "$dir/$name.convert.png")
		echo "$name $ms" >>"$dir/convert.txt"
	done
	round=$((round + 1))
done

best_convert() {
	awk -v name="$1" '$1 == name && (best == "" || $2 < best) { best = $2 } END { print best }' "$dir/convert.txt"
}

"$CONVERT" -version | head -n 1
echo "convert start-up alone (1x1 picture): $(best_convert startup) ms/op"
printf '%-10s %10s %14s %8s\n' picture "ours ms/op" "convert ms/op" ratio
for name in 1280x960 4000x3000; do
	theirs=$(best_convert "$name")
	ours=$(awk -v name="BenchmarkMake/$name-" '
		index($1, name) == 1 { ms = $3 / 1e6; if (best == "" || ms < best) best = ms }
		END { printf "%.1f", best }' "$dir/go-bench.txt")
	ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
	printf '%-10s %10s %14s %8s\n' "$name" "$ours" "$theirs" "$ratio"
done
echo "best of $ROUNDS rounds of $N runs; raw numbers in $dir"
