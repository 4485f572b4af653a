package avatar_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"mmsprofile/avatar"
)

func ExampleStandard_Make() {
	// A grey ramp stands in for a photo from the phone.
	ramp := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range ramp.Pix {
		ramp.Pix[i] = uint8(i % 640 / 3)
	}
	var photo bytes.Buffer
	_ = jpeg.Encode(&photo, ramp, nil)

	img, err := avatar.Standard{Size: 96}.Make(context.Background(), photo.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.Type, img.Width, img.Height, len(img.ID))

	// Errors are meant for the sender; errors.Is tells the caller which.
	_, err = avatar.Standard{}.Make(context.Background(), []byte("hello"))
	fmt.Println(errors.Is(err, avatar.ErrUnsupported))
	fmt.Println(err)
	// Output:
	// image/png 96 96 40
	// true
	// avatar: not a JPEG, PNG, GIF, WebP or BMP picture: this kind of picture is not supported, please send a JPEG or PNG
}
