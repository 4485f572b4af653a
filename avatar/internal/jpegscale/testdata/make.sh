#!/bin/sh
# Remakes the test pictures (see README.md). Needs ImageMagick 6, vips
# and libjpeg-turbo's cjpeg; the tests only read the results.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Gradients, noise and hard edges, kept off 0 and 255 so that clipping
# does not blur the comparison with a full-size decode.
convert -seed 3 -size 333x217 plasma:fractal -blur 0x0.6 \
	-fill 'rgb(230,220,40)' -draw 'circle 100,100 100,140' \
	-fill 'rgb(20,30,160)' -draw 'rectangle 200,30 300,90' \
	-fill 'rgb(250,250,250)' -draw 'polygon 10,200 60,150 90,210' \
	-attenuate 0.4 +noise Gaussian +level 8%,92% "$tmp/src.ppm"
src=$tmp/src.ppm

cjpeg -quality 90 -sample 2x2 "$src" >b420.jpg
cjpeg -quality 90 -sample 2x1 "$src" >b422.jpg
cjpeg -quality 90 -sample 1x1 "$src" >b444.jpg
cjpeg -quality 90 -sample 1x2 "$src" >b440.jpg
cjpeg -quality 90 -sample 4x1 "$src" >b411.jpg
cjpeg -quality 90 -sample 4x2 "$src" >b410.jpg
cjpeg -quality 90 -grayscale "$src" >gray.jpg
cjpeg -quality 85 -optimize -restart 7B "$src" >rst420.jpg
cjpeg -quality 90 -progressive "$src" >prog420.jpg
cjpeg -quality 90 -progressive -sample 1x1 -restart 5B "$src" >progrst444.jpg
cjpeg -quality 90 -progressive -grayscale "$src" >proggray.jpg
# Quality 5 needs 16-bit quantisation tables, hence SOF1.
cjpeg -quality 5 "$src" >ext420.jpg
# One scan per component: non-interleaved sequential.
printf '0;\n1;\n2;\n' >"$tmp/scans"
cjpeg -quality 90 -sample 2x2 -scans "$tmp/scans" "$src" >seq3scans.jpg
cjpeg -quality 90 -rgb "$src" >rgb.jpg
# ImageMagick writes CMYK as YCCK (Adobe transform 2); vips writes it
# as inverted CMYK (transform 0).
convert "$src" -colorspace CMYK -quality 90 ycck.jpg
convert "$src" -colorspace CMYK "$tmp/cmyk.tif"
vips copy "$tmp/cmyk.tif" "cmyk.jpg[Q=90,strip]"
convert "$src" -resize 40x26 -quality 90 "$tmp/small.ppm"
cjpeg -arithmetic "$tmp/small.ppm" >arith.jpg

# Small copies of each kind for the fuzzer, which mutates and minimises
# faster the fewer bytes there are.
mkdir -p small
convert "$src" -resize 37x23! "$tmp/s.ppm"
s=$tmp/s.ppm
cjpeg -quality 90 -sample 2x2 "$s" >small/b420.jpg
cjpeg -quality 90 -sample 2x1 -restart 1B "$s" >small/rst422.jpg
cjpeg -quality 90 -sample 1x2 "$s" >small/b440.jpg
cjpeg -quality 90 -sample 4x2 "$s" >small/b410.jpg
cjpeg -quality 90 -grayscale "$s" >small/gray.jpg
cjpeg -quality 90 -progressive "$s" >small/prog420.jpg
cjpeg -quality 90 -progressive -sample 1x1 -restart 1B "$s" >small/progrst444.jpg
cjpeg -quality 90 -progressive -grayscale "$s" >small/proggray.jpg
cjpeg -quality 5 "$s" >small/ext420.jpg
cjpeg -quality 90 -sample 2x2 -scans "$tmp/scans" "$s" >small/seq3scans.jpg
cjpeg -quality 90 -rgb "$s" >small/rgb.jpg
convert "$s" -colorspace CMYK -quality 90 small/ycck.jpg
convert "$s" -colorspace CMYK "$tmp/scmyk.tif"
vips copy "$tmp/scmyk.tif" "small/cmyk.jpg[Q=90,strip]"
