package profile

import (
	"errors"
	"fmt"
	"strings"

	"mmsprofile/avatar"
	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

// skippedPart is a part of an MMS left out while the rest was applied.
type skippedPart struct {
	err error
	// advice is what the phone is told: why, and what would work, in one
	// short clause.
	advice string
}

// skipPicture says why picture p was not used (err, an avatar error) and
// what to send instead, in words short enough for one SMS.
func skipPicture(p mmsbridge.Part, err error) *skippedPart {
	return &skippedPart{err: err, advice: pictureAdvice(p, err)}
}

func pictureAdvice(p mmsbridge.Part, err error) string {
	switch {
	case errors.Is(err, avatar.ErrUnsupported):
		name := avatar.FormatName(p.Data)
		if name == "" {
			name = declaredFormat(p)
		}
		if name == "" {
			return "its format is not recognised; send a JPEG"
		}
		return fmt.Sprintf("%s is not supported here; send a JPEG", name)
	case errors.Is(err, mmsbridge.ErrMediaTooLarge):
		return "it is too large to fetch; send a smaller JPEG"
	case errors.Is(err, mmsbridge.ErrMediaUnavailable):
		return "it could not be fetched; send it again"
	case errors.Is(err, avatar.ErrCorrupt):
		return "it is damaged; send it again as a JPEG"
	case errors.Is(err, avatar.ErrTooLarge):
		return "it is too large; send a smaller JPEG"
	case errors.Is(err, avatar.ErrTooSmall):
		return "it is too small; send a bigger one"
	case errors.Is(err, avatar.ErrEmpty):
		return "it is empty; send it again"
	case errors.Is(err, avatar.ErrBlank):
		return "it looks blank; send a photo"
	case errors.Is(err, avatar.ErrRejected):
		return "the service's content rules refused it"
	case errors.Is(err, avatar.ErrCheckFailed):
		return "it could not be checked just now; send it again later"
	}
	return "it could not be used; send a JPEG"
}

// declaredFormat names the format a part claims ("image/tiff" gives
// "TIFF"), for bytes that are no picture we know.
func declaredFormat(p mmsbridge.Part) string {
	sub, ok := strings.CutPrefix(p.ContentType, "image/")
	sub = strings.TrimPrefix(sub, "x-")
	if !ok || sub == "" || len(sub) > 16 || strings.ContainsFunc(sub, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '+')
	}) {
		return ""
	}
	return strings.ToUpper(sub)
}

// textPartial is the one reply to a phone whose MMS was applied without
// its picture: what changed, that the picture was skipped, what would work.
func textPartial(u storage.Update, details, contacts bool, advice string) string {
	var what []string
	if u.Status != "" {
		what = append(what, "status")
	}
	if u.Nick != "" {
		what = append(what, "nickname")
	}
	if details {
		what = append(what, "contact details")
	}
	if contacts {
		what = append(what, "contact suggestions")
	}
	return fmt.Sprintf("Applied: %s. Picture skipped: %s.", strings.Join(what, ", "), advice)
}
