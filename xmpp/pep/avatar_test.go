package pep

import (
	"encoding/base64"
	"encoding/xml"
	"testing"
)

func TestAvatarDataRoundTrip(t *testing.T) {
	data := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3}
	var got struct {
		XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
		Publish struct {
			Node string `xml:"node,attr"`
			Item struct {
				ID   string `xml:"id,attr"`
				Data string `xml:"urn:xmpp:avatar:data data"`
			} `xml:"item"`
		} `xml:"publish"`
	}
	if err := xml.Unmarshal(AvatarData("abc", data), &got); err != nil {
		t.Fatal(err)
	}
	if got.Publish.Node != NSAvatarData || got.Publish.Item.ID != "abc" {
		t.Fatalf("node %q item %q", got.Publish.Node, got.Publish.Item.ID)
	}
	dec, err := base64.StdEncoding.DecodeString(got.Publish.Item.Data)
	if err != nil || string(dec) != string(data) {
		t.Fatalf("data %q, err %v", dec, err)
	}
}

func TestAvatarMetadata(t *testing.T) {
	raw := AvatarMetadata(AvatarInfo{ID: "id1", Type: "image/png", Bytes: 10, Width: 128, Height: 128})
	var got struct {
		Publish struct {
			Node string `xml:"node,attr"`
			Item struct {
				ID   string `xml:"id,attr"`
				Meta struct {
					Infos []struct {
						Bytes  int    `xml:"bytes,attr"`
						ID     string `xml:"id,attr"`
						Type   string `xml:"type,attr"`
						Width  int    `xml:"width,attr"`
						Height int    `xml:"height,attr"`
					} `xml:"info"`
				} `xml:"urn:xmpp:avatar:metadata metadata"`
			} `xml:"item"`
		} `xml:"publish"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Publish.Node != NSAvatarMetadata || got.Publish.Item.ID != "id1" || len(got.Publish.Item.Meta.Infos) != 1 {
		t.Fatalf("unexpected %s", raw)
	}
	in := got.Publish.Item.Meta.Infos[0]
	if in.Bytes != 10 || in.ID != "id1" || in.Type != "image/png" || in.Width != 128 || in.Height != 128 {
		t.Fatalf("info %+v", in)
	}
}

// Renditions follow the PNG, each with its URL; the URL is escaped, and
// the PNG has none.
func TestAvatarMetadataURLs(t *testing.T) {
	raw := AvatarMetadata(
		AvatarInfo{ID: "png", Type: "image/png", Bytes: 10, Width: 128, Height: 128},
		AvatarInfo{ID: "jpg", Type: "image/jpeg", Bytes: 20, Width: 512, Height: 512, URL: "https://example.org/a/jpg.jpg?x=1&y='2'<"},
	)
	var got struct {
		Infos []struct {
			ID  string  `xml:"id,attr"`
			URL *string `xml:"url,attr"`
		} `xml:"publish>item>metadata>info"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if len(got.Infos) != 2 || got.Infos[0].ID != "png" || got.Infos[0].URL != nil || got.Infos[1].ID != "jpg" ||
		got.Infos[1].URL == nil || *got.Infos[1].URL != "https://example.org/a/jpg.jpg?x=1&y='2'<" {
		t.Fatalf("infos %+v in %s", got.Infos, raw)
	}
}
