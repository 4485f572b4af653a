package publisher

import (
	"mmsprofile/component"
	"mmsprofile/vcard"
)

func discoInfoQuery() []byte { return component.EmptyElement(component.NSDiscoInfo, "query") }

func vcardTempQuery() []byte { return component.EmptyElement(vcard.NSTemp, "vCard") }
