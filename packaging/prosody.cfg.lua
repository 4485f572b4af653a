-- Sample Prosody 0.12 configuration for mmsprofile (Debian: apt-get install
-- prosody prosody-modules). Only what mmsprofile needs is shown; merge it
-- into your /etc/prosody/prosody.cfg.lua, replace example.org and
-- mms.example.org, then: prosodyctl check config && systemctl reload prosody.
-- `mmsprofile doctor -config /etc/mmsprofile/config.toml` checks the result.

-- Global section ----------------------------------------------------------

-- The XEP-0114 component port. Keep it on loopback when mmsprofile runs on
-- the same machine; otherwise bind a private address and firewall it: the
-- component secret is all that protects it, and it travels in clear.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

modules_enabled = {
	-- … your existing modules …
	"pep";     -- XEP-0163: where avatars, nicknames and status live
	"disco";
}

-- One VirtualHost per entry of xmpp.domains ------------------------------

VirtualHost "example.org"
	-- "vcard" stores vcard-temp only; "vcard_legacy" also turns vcard-temp
	-- into PEP and back (then set xmpp.vcard_conversion = "auto" or "on").
	modules_enabled = { "vcard_legacy" }

	-- What the component may do for this host's users (XEP-0356). Nothing
	-- more is needed: no roster, and above all no presence (with presence,
	-- every user's presence is forwarded to the component and bounces while
	-- it is offline).
	privileged_entities = {
		["mms.example.org"] = {
			message = "outgoing";
			iq = {
				["http://jabber.org/protocol/pubsub"] = "set";
				["vcard-temp"] = "both";
				-- Only for xmpp.vcard_conversion = "auto": lets mmsprofile ask
				-- whether this host converts vCard <-> PEP itself.
				["http://jabber.org/protocol/disco#info"] = "get";
			};
		};
	}

-- The component: after every VirtualHost ---------------------------------

Component "mms.example.org"
	-- The same value as xmpp.secret (or the content of xmpp.secret_file).
	-- Generate one with: openssl rand -hex 24
	component_secret = "CHANGE-ME"
	-- mod_privilege (prosody-modules) must be loaded on the component too:
	-- it sends the <privilege/> advertisement after the handshake.
	modules_enabled = { "privilege" }
