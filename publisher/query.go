package publisher

import (
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
)

func discoInfoQuery() []byte { return component.EmptyElement(component.NSDiscoInfo, "query") }

func vcardTempQuery() []byte { return component.EmptyElement(vcard.NSTemp, "vCard") }
