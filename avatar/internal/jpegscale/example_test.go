package jpegscale_test

import (
	"errors"
	"fmt"
	"os"

	"mmsprofile/avatar/internal/jpegscale"
)

// A 333x217 photo wanted at 64 pixels at least: 1/2 is the largest
// reduction that keeps its short side long enough.
func ExampleDecode() {
	data, err := os.ReadFile("testdata/prog420.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	scale := jpegscale.Scale(217, 64)
	img, err := jpegscale.Decode(data, scale)
	if errors.Is(err, jpegscale.ErrUnsupported) {
		fmt.Println("hand it to image/jpeg")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("1/%d: %T %v\n", scale, img, img.Bounds())
	// Output: 1/2: *image.YCbCr (0,0)-(167,109)
}

func ExampleScale() {
	fmt.Println(jpegscale.Scale(3000, 128), jpegscale.Scale(960, 128), jpegscale.Scale(300, 128), jpegscale.Scale(200, 128))
	// Output: 8 4 2 1
}
