#!/bin/sh
# Times package avatar's two backends against their references on the very
# same files, interleaved, and prints the ratios issue 5 asks for:
#
#   go       the pure-Go backend, in-process (avatarbench, default build)
#   imaging  plain image.Decode + imaging.Fill(Lanczos) + png.Encode
#   vips     the libvips backend, in-process (avatarbench, -tags vips)
#   vipsref  libvips' own thumbnail_buffer + pngsave_buffer, in-process
#   convert  ImageMagick, a process per picture, as the issue words it
#   hint     the same with -define jpeg:size= (256 px, never over the picture)
#   vipsthumbnail  the libvips command, a process per picture
#   djpeg    libjpeg-turbo's decode alone at the DCT scale 128 px needs
#            (1/8 or 1/4), a process per picture: the floor under any
#            backend built on libjpeg, shown beside the goals it bounds
#
# Each round runs every contender on every file back to back, so they share
# the machine's load; a contender's number is its best round (in-process:
# the median of N runs after a warm-up; commands: the mean of N runs).
# Then peak memory for one 12 MP picture (JPEG; PNG as 8-bit RGB, 16-bit
# RGBA and a palette, each over the default 10 MB input budget, which
# avatarbench lifts), and pictures/s on 2 cores.
#
#   scripts/bench-avatar.sh                  # N=5 ROUNDS=3 D=3s
#   N=10 ROUNDS=5 AVATAR_BENCH_DIR=/tmp/x scripts/bench-avatar.sh
set -eu

cd "$(dirname "$0")/.."
N=${N:-5}
ROUNDS=${ROUNDS:-3}
D=${D:-3s}
CONVERT=${CONVERT:-/usr/bin/convert}
dir=${AVATAR_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$dir"
times=$dir/times.txt
: >"$times"

go build -tags nodynamic -o "$dir/bench-go" ./avatar/internal/avatarbench
vips=
if pkg-config --exists vips 2>/dev/null; then
	go build -tags "vips nodynamic" -o "$dir/bench-vips" ./avatar/internal/avatarbench
	vips=yes
else
	echo "libvips-dev not installed: the vips backend and references are skipped (scripts/install-deps.sh)"
fi
have() { command -v "$1" >/dev/null 2>&1; }

"$dir/bench-go" gen "$dir"
pngs="1600x1200-alpha.png 4000x3000-rgb.png 4000x3000-rgba16.png 4000x3000-palette.png"
files="1280x960.jpg 4000x3000.jpg 4000x3000-exif6.jpg $pngs"
if [ -x "$CONVERT" ]; then
	for p in 1280x960 4000x3000; do
		"$CONVERT" "$dir/$p.jpg" -interlace JPEG -quality 90 "$dir/$p-prog.jpg"
	done
	files="1280x960.jpg 1280x960-prog.jpg 4000x3000.jpg 4000x3000-prog.jpg 4000x3000-exif6.jpg $pngs"
fi

# ms_per_op N CMD...: wall time of N runs of CMD, in ms per run.
ms_per_op() {
	runs=$1
	shift
	start=$(date +%s%N)
	i=0
	while [ "$i" -lt "$runs" ]; do
		"$@" >/dev/null
		i=$((i + 1))
	done
	end=$(date +%s%N)
	awk -v a="$start" -v b="$end" -v n="$runs" 'BEGIN { printf "%.1f", (b - a) / n / 1e6 }'
}

# inproc IMPL BINARY: one line "IMPL FILE MS" per file.
inproc() {
	(cd "$dir" && "$2" time -impl "$1" -n "$N" $files) | sed "s/^/$1 /" >>"$times"
}

round=0
while [ "$round" -lt "$ROUNDS" ]; do
	inproc go "$dir/bench-go"
	inproc imaging "$dir/bench-go"
	if [ -n "$vips" ]; then
		inproc vips "$dir/bench-vips"
		inproc vipsref "$dir/bench-vips"
	fi
	for f in $files; do
		in=$dir/$f
		out=$dir/out.png
		if [ -x "$CONVERT" ]; then
			echo "convert $f $(ms_per_op "$N" "$CONVERT" "$in" -auto-orient -thumbnail '128x128^' \
				-gravity center -extent 128x128 -strip "$out")" >>"$times"
			case $f in
			*.jpg)
				# The picture's size is in its name; the hint must not
				# exceed it, or libjpeg scales up.
				w=${f%%x*}
				h=${f#*x}
				h=${h%%[.-]*}
				hint="$((w < 256 ? w : 256))x$((h < 256 ? h : 256))"
				echo "hint $f $(ms_per_op "$N" "$CONVERT" -define "jpeg:size=$hint" "$in" -auto-orient \
					-thumbnail '128x128^' -gravity center -extent 128x128 -strip "$out")" >>"$times"
				;;
			*) # no hint for PNG: it is the same command
				grep "^convert $f " "$times" | tail -n 1 | sed 's/^convert/hint/' >>"$times"
				;;
			esac
		fi
		case $f in
		*.jpg)
			if have djpeg; then
				w=${f%%x*}
				h=${f#*x}
				h=${h%%[.-]*}
				side=$((w < h ? w : h))
				denom=8
				while [ "$denom" -gt 1 ] && [ $((side / denom)) -lt 128 ]; do denom=$((denom / 2)); done
				echo "djpeg $f $(ms_per_op "$N" djpeg -scale "1/$denom" -outfile /dev/null "$in")" >>"$times"
			fi
			;;
		esac
		if have vipsthumbnail; then
			echo "vipsthumbnail $f $(ms_per_op "$N" vipsthumbnail "$in" -s 128x128 -m centre \
				-o "$out[strip]")" >>"$times"
		fi
	done
	round=$((round + 1))
done

[ -x "$CONVERT" ] && "$CONVERT" -version | head -n 1
have vips && vips --version
echo "ms per picture to a 128 px PNG, best of $ROUNDS rounds of $N; x = how many times faster"
awk -v files="$files" '
	{ k = $1 SUBSEP $2; if (!(k in best) || $3 < best[k]) best[k] = $3 }
	function get(i, f) { k = i SUBSEP f; return (k in best) ? best[k] : "" }
	function show(v) { return v == "" ? "-" : sprintf("%.1f", v) }
	function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
	END {
		printf "%-20s %6s %7s %6s %7s %7s %6s %6s %6s | %9s %9s %9s %9s %10s\n", "picture", "go", "imaging", "vips", "vipsref", "convert", "hint", "vthumb", "djpeg", "imaging/go", "bestIM/go", "bestIM/vips", "vips/ref", "bestIM/djpeg"
		n = split(files, fs, " ")
		for (j = 1; j <= n; j++) {
			f = fs[j]
			g = get("go", f); im = get("imaging", f); v = get("vips", f); r = get("vipsref", f)
			c = get("convert", f); h = get("hint", f); t = get("vipsthumbnail", f); d = get("djpeg", f)
			bim = c; if (h != "" && (bim == "" || h < bim)) bim = h
			printf "%-20s %6s %7s %6s %7s %7s %6s %6s %6s | %9s %9s %9s %9s %10s\n", f, show(g), show(im), show(v), show(r), show(c), show(h), show(t), show(d), ratio(im, g), ratio(bim, g), ratio(bim, v), ratio(v, r), ratio(bim, d)
		}
	}' "$times"
echo "goals: imaging/go >= 2; bestIM/vips >= 2; vips/ref <= 1.3"
png=1600x1200-alpha.png
inflate=$(cd "$dir" && "$dir/bench-go" time -impl inflate -n "$N" "$png" | awk '{ print $2 }')
goinflate=$(cd "$dir" && "$dir/bench-go" time -impl zlib -n "$N" "$png" | awk '{ print $2 }')
echo "$png floors: the image data's inflate alone, pngscale's $inflate ms, compress/zlib's (under imaging) $goinflate ms"
if have python3; then
	zinflate=$(python3 - "$dir/$png" <<'PY'
import struct, sys, time, zlib
d = open(sys.argv[1], "rb").read()
i, idat = 8, b""
while i + 12 <= len(d):
    n = struct.unpack(">I", d[i:i + 4])[0]
    if d[i + 4:i + 8] == b"IDAT":
        idat += d[i + 8:i + 8 + n]
    i += 12 + n
best = min((lambda s: (zlib.decompress(idat), time.perf_counter() - s)[1])(time.perf_counter()) for _ in range(10))
print("%.1f" % (best * 1000))
PY
)
	echo "$png floors: C zlib's inflate alone (the inflate under libpng, libspng and ImageMagick) $zinflate ms"
fi
echo "(bestIM/djpeg under 2: libjpeg-turbo's decode alone is over half ImageMagick's time, so no libjpeg-based backend can reach 2x there)"

echo
echo "peak resident memory, MB (VmHWM of a process after a 64 px warm-up -> after one picture)"
for f in 4000x3000.jpg 4000x3000-prog.jpg 4000x3000-rgb.png 4000x3000-rgba16.png 4000x3000-palette.png; do
	[ -f "$dir/$f" ] || continue
	echo "go   $(cd "$dir" && "$dir/bench-go" mem -impl go "$f")"
	[ -n "$vips" ] && echo "vips $(cd "$dir" && "$dir/bench-vips" mem -impl vips "$f")"
done

# A 12 MP HEIC as phones write it: a grid of 48 tiles of 512x512 without a
# thumbnail, decoded a tile at a time. No encoder here writes a grid:
# libvips encodes the tiles and avatarbench puts them together.
if have vips; then
	vips embed "$dir/4000x3000.jpg" "$dir/grid-src.v" 0 0 4096 3072 --extend copy
	tiles=
	for r in 0 1 2 3 4 5; do
		for c in 0 1 2 3 4 5 6 7; do
			vips extract_area "$dir/grid-src.v" "$dir/tile.v" $((c * 512)) $((r * 512)) 512 512
			vips heifsave "$dir/tile.v" "$dir/tile-$r-$c.heic" --strip
			tiles="$tiles $dir/tile-$r-$c.heic"
		done
	done
	# shellcheck disable=SC2086 # one argument a tile
	"$dir/bench-go" grid -cols 8 -rows 6 -w 4032 -h 3024 "$dir/4032x3024-grid.heic" $tiles
	f=4032x3024-grid.heic
	echo "go   $(cd "$dir" && "$dir/bench-go" mem -impl go "$f")  $(cd "$dir" && "$dir/bench-go" time -impl go -n "$N" "$f") ms"
	[ -n "$vips" ] && echo "vips $(cd "$dir" && "$dir/bench-vips" mem -impl vips "$f")  $(cd "$dir" && "$dir/bench-vips" time -impl vips -n "$N" "$f") ms"
fi

echo
echo "throughput on 2 cores, pictures/s ($D, 2 workers)"
for f in 1280x960.jpg 4000x3000.jpg; do
	echo "go   $(cd "$dir" && "$dir/bench-go" rate -impl go -procs 2 -d "$D" "$f")"
	[ -n "$vips" ] && echo "vips $(cd "$dir" && "$dir/bench-vips" rate -impl vips -procs 2 -d "$D" "$f")"
done
echo "raw numbers in $dir"
