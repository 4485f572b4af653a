package storetest

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/storage"
)

// AvatarBytes is the size of the picture in Bench: what the avatar
// package makes of a 1280×960 photo (a 128×128 PNG) is about this size.
const AvatarBytes = 20 << 10

// Bench measures CommitUpdate, the step an MMS waits for before the MMSC
// is answered: text-only and with a picture, from one goroutine (latency)
// and from many (sustained throughput), reported as commits/s. open must
// return a new, empty Store.
func Bench(b *testing.B, open func(b *testing.B) storage.Store) {
	for _, withAvatar := range []bool{false, true} {
		for _, parallel := range []bool{false, true} {
			name := "text"
			if withAvatar {
				name = "avatar20k"
			}
			name += map[bool]string{false: "/serial", true: "/parallel"}[parallel]
			b.Run(name, func(b *testing.B) {
				benchCommit(b, open(b), withAvatar, parallel)
			})
		}
	}
}

func benchCommit(b *testing.B, s storage.Store, withAvatar, parallel bool) {
	base := MakeAvatar("bench", AvatarBytes)
	var seq atomic.Int64
	one := func() {
		n := seq.Add(1)
		u := storage.Update{Source: "mm7", Key: fmt.Sprint(n), JID: fmt.Sprintf("user%d@example.org", n%100),
			Number: "+12025550001", Status: "hello from the beach", Received: time.Now()}
		u.Entries = []storage.Entry{{JID: u.JID, Kind: storage.KindProfile, Payload: []byte(`{"status":"hello"}`), Coalesce: true}}
		if withAvatar {
			// A new picture each time, as every MMS brings one.
			av := *base
			av.Data = binary.BigEndian.AppendUint64(nil, uint64(n))
			av.Data = append(av.Data, base.Data[8:]...)
			sum := sha1.Sum(av.Data)
			av.ID = hex.EncodeToString(sum[:])
			u.Avatar = &av
		}
		if _, err := s.CommitUpdate(context.Background(), u); err != nil {
			b.Error(err)
		}
	}
	if withAvatar {
		b.SetBytes(AvatarBytes)
	}
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	} else {
		for b.Loop() {
			one()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
