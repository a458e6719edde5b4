package api

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/sunlamp/sunlamp"
)

// This file holds the wire shapes of integrations, integration keys and webhooks, and the per-type
// validation of integration bodies.

// integrationField describes one type-specific field of an integration body.
type integrationField struct {
	kind      string // "string", "boolean", "number", "strings" (string array), "object"
	min       int    // minimum length of a string
	writeOnly bool   // a credential: stored, never returned
	nullable  bool
	required  bool // on create
	updatable bool
	enum      []string
	def       any // the value a new integration gets when the field is not given
}

// integrationType describes a type: its fields by wire name, and whether it has the channel base
// fields (defaultResponderId, showAIDisclaimer), which every type but custom has.
type integrationType struct {
	fields  map[string]integrationField
	channel bool
}

// The spec marks only some credentials writeOnly. Sunlamp treats every token, secret and key as
// write-only (messenger.pageAccessToken, line.channelSecret/channelAccessToken/switcherSecret,
// mailgun.signingKey, whatsapp.accountManagementAccessToken too): a credential is never returned.
var (
	intStr       = integrationField{kind: "string", min: 1}
	intStrUpd    = integrationField{kind: "string", min: 1, updatable: true}
	intStrReq    = integrationField{kind: "string", min: 1, required: true}
	intSecret    = integrationField{kind: "string", min: 1, writeOnly: true, nullable: true}
	intSecretReq = integrationField{kind: "string", min: 1, writeOnly: true, nullable: true, required: true}
	intSecretUpd = integrationField{kind: "string", min: 1, writeOnly: true, nullable: true, updatable: true}
	intBoolUpd   = integrationField{kind: "boolean", updatable: true}
)

func intDefault(f integrationField, def any) integrationField { f.def = def; return f }
func intNullable(f integrationField) integrationField         { f.nullable = true; return f }

var sdkConversationFields = map[string]integrationField{
	"canUserSeeConversationList": intBoolUpd, "canUserCreateMoreConversations": intBoolUpd,
}

func intFields(extra map[string]integrationField, more ...map[string]integrationField) map[string]integrationField {
	m := map[string]integrationField{}
	for _, x := range append([]map[string]integrationField{extra}, more...) {
		for k, v := range x {
			m[k] = v
		}
	}
	return m
}

var integrationTypes = map[string]integrationType{
	"android": {channel: true, fields: intFields(map[string]integrationField{
		"projectId": intSecretUpd, "clientEmail": intSecretUpd, "privateKey": intSecretUpd, "serverKey": intSecretUpd,
		"senderId": intNullable(intStrUpd),
	}, sdkConversationFields)},
	"apple": {channel: true, fields: map[string]integrationField{
		"businessId": intStrReq, "apiSecret": intSecretReq, "mspId": intStrReq,
		"authenticationMessageSecret": {kind: "string", min: 88, writeOnly: true, updatable: true},
	}},
	"custom": {fields: map[string]integrationField{}},
	"instagram": {channel: true, fields: map[string]integrationField{
		"pageAccessToken": {kind: "string", min: 1, writeOnly: true, nullable: true, required: true, updatable: true},
		"appId":           intStrReq, "appSecret": intSecretReq,
		"storyRepliesEnabled": intDefault(intBoolUpd, true), "storyMentionsEnabled": intDefault(intBoolUpd, true),
	}},
	"ios": {channel: true, fields: intFields(map[string]integrationField{
		"certificate": intSecretUpd, "password": {kind: "string", writeOnly: true, updatable: true},
		"production": intBoolUpd, "autoUpdateBadge": intBoolUpd,
	}, sdkConversationFields)},
	"line": {channel: true, fields: map[string]integrationField{
		"channelId": intStr, "channelSecret": intSecret, "channelAccessToken": intSecret, "serviceCode": intStr,
		"switcherSecret": intSecret, "qrCodeUrl": intStr,
	}},
	"mailgun": {channel: true, fields: map[string]integrationField{
		"apiKey": intSecretReq, "signingKey": intSecret, "domain": intStrReq, "incomingAddress": intStrReq,
		"hideUnsubscribeLink": intBoolUpd, "fromAddress": intNullable(intStrUpd),
	}},
	"messagebird": {channel: true, fields: map[string]integrationField{
		"accessKey": intSecretReq, "signingKey": intSecretReq, "originator": intStrReq,
	}},
	"messenger": {channel: true, fields: map[string]integrationField{
		"pageAccessToken": {kind: "string", min: 1, writeOnly: true, nullable: true, required: true, updatable: true},
		"appId":           intStrReq, "appSecret": intSecretReq,
		"pageId": {kind: "pageId"}, "pageName": intStr,
	}},
	"telegram": {channel: true, fields: map[string]integrationField{"token": intSecretReq}},
	"twilio": {channel: true, fields: map[string]integrationField{
		"accountSid": intStrReq, "authToken": intSecretReq, "phoneNumberSid": intStr, "messagingServiceSid": intStr,
	}},
	"twitter": {channel: true, fields: map[string]integrationField{
		"tier":        {kind: "string", required: true, enum: []string{"enterprise"}},
		"consumerKey": {kind: "string", min: 1, writeOnly: true, required: true}, "consumerSecret": intSecretReq,
		"accessTokenKey": {kind: "string", min: 1, writeOnly: true, required: true}, "accessTokenSecret": intSecretReq,
	}},
	"unity": {channel: true, fields: intFields(map[string]integrationField{}, sdkConversationFields)},
	"viber": {channel: true, fields: map[string]integrationField{"token": intSecretReq}},
	"web": {channel: true, fields: intFields(map[string]integrationField{
		"brandColor": intDefault(intStrUpd, "65758e"), "fixedIntroPane": intDefault(intBoolUpd, false),
		"conversationColor": intDefault(intStrUpd, "0099ff"), "actionColor": intDefault(intStrUpd, "0099ff"),
		"displayStyle":  {kind: "string", updatable: true, enum: []string{"button", "tab"}, def: "button"},
		"buttonIconUrl": intNullable(intStrUpd), "buttonWidth": intDefault(intStrUpd, "58"), "buttonHeight": intDefault(intStrUpd, "58"),
		"integrationOrder": {kind: "strings", nullable: true, updatable: true},
		"businessName":     intStrUpd, "businessIconUrl": intStrUpd, "backgroundImageUrl": intStrUpd,
		"originWhitelist": {kind: "strings", nullable: true, updatable: true},
		"prechatCapture":  {kind: "object", updatable: true},
	}, sdkConversationFields)},
	"whatsapp": {channel: true, fields: map[string]integrationField{
		"hsmFallbackLanguage":          {kind: "string", min: 1, nullable: true, updatable: true, def: "en_US"},
		"accountId":                    intNullable(intStrUpd),
		"accountManagementAccessToken": intSecretUpd,
	}},
}

// checkIntegrationField validates v, the value of field name of a body.
func checkIntegrationField(name string, f integrationField, v any) error {
	if v == nil {
		if f.nullable {
			return nil
		}
		return sunlamp.Invalid("%s should not be null", name)
	}
	switch f.kind {
	case "string":
		s, ok := v.(string)
		if !ok {
			return sunlamp.Invalid("%s should be string", name)
		}
		if len([]rune(s)) < f.min {
			return sunlamp.Invalid("%s should NOT be shorter than %d characters", name, f.min)
		}
		if f.enum != nil && !slices.Contains(f.enum, s) {
			return sunlamp.Invalid("%s should be one of %s", name, strings.Join(f.enum, ", "))
		}
	case "pageId": // typed number in the spec, a string in its example: take either
		switch v.(type) {
		case string, json.Number:
		default:
			return sunlamp.Invalid("%s should be string or number", name)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return sunlamp.Invalid("%s should be boolean", name)
		}
	case "strings":
		a, ok := v.([]any)
		if !ok {
			return sunlamp.Invalid("%s should be array", name)
		}
		for i, x := range a {
			if _, ok := x.(string); !ok {
				return sunlamp.Invalid("%s[%d] should be string", name, i)
			}
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return sunlamp.Invalid("%s should be object", name)
		}
	}
	return nil
}

// checkDisplayName validates an integration's displayName (nullable, at most 100 characters; the
// update schemas also ask for at least 1).
func checkIntegrationDisplayName(v any, update bool) (*string, error) {
	if v == nil {
		empty := ""
		return &empty, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, sunlamp.Invalid("displayName should be string")
	}
	n := len([]rune(s))
	if n > 100 {
		return nil, sunlamp.Invalid("displayName should NOT be longer than 100 characters")
	}
	if update && n < 1 {
		return nil, sunlamp.Invalid("displayName should NOT be shorter than 1 characters")
	}
	return &s, nil
}

// webhookWire is the spec's Webhook.
type webhookWire struct {
	ID                string   `json:"id"`
	Version           string   `json:"version"`
	Target            string   `json:"target"`
	Triggers          []string `json:"triggers"`
	Secret            string   `json:"secret"`
	IncludeFullUser   bool     `json:"includeFullUser"`
	IncludeFullSource bool     `json:"includeFullSource"`
}

func webhookOut(w sunlamp.Webhook) webhookWire {
	ts := w.Triggers
	if ts == nil {
		ts = []string{}
	}
	return webhookWire{ID: w.ID, Version: w.Version, Target: w.Target, Triggers: ts, Secret: w.Secret,
		IncludeFullUser: w.IncludeFullUser, IncludeFullSource: w.IncludeFullSource}
}

// integrationOut is the spec's Integration of in's type: the base fields, the readable settings,
// and a custom integration's webhooks. Credentials are never part of it.
func integrationOut(in sunlamp.Integration) map[string]any {
	out := map[string]any{"id": in.ID, "type": in.Type, "status": in.Status}
	if in.DisplayName != "" {
		out["displayName"] = in.DisplayName
	}
	spec := integrationTypes[in.Type]
	for k, v := range in.Config {
		if f, known := spec.fields[k]; known && f.writeOnly {
			continue // never, even if a credential ended up among the settings
		}
		out[k] = v
	}
	if in.Type == sunlamp.IntegrationCustom {
		hooks := make([]webhookWire, 0, len(in.Webhooks))
		for _, w := range in.Webhooks {
			hooks = append(hooks, webhookOut(w))
		}
		out["webhooks"] = hooks
	}
	return out
}

// webhookBody is the spec's webhookBody (UpdateWebhook) and webhookCreateBody.
type webhookBody struct {
	Target            Nullable[string]   `json:"target"`
	Triggers          Nullable[[]string] `json:"triggers"`
	IncludeFullUser   Nullable[bool]     `json:"includeFullUser"`
	IncludeFullSource Nullable[bool]     `json:"includeFullSource"`
}

// validate checks the body; create says whether target and triggers are required. p prefixes the
// field names in titles ("webhooks[0]." inside CreateIntegration).
func (b webhookBody) validate(p string, create bool) (sunlamp.WebhookUpdate, error) {
	var u sunlamp.WebhookUpdate
	switch {
	case !b.Target.Set && create:
		return u, required(p + "target")
	case b.Target.Null:
		return u, sunlamp.Invalid("%starget should be string", p)
	case b.Target.Set:
		t, err := url.Parse(b.Target.Value)
		if err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" {
			return u, sunlamp.Invalid("%starget should be an absolute http or https URL", p)
		}
		u.Target = &b.Target.Value
	}
	switch {
	case !b.Triggers.Set && create:
		return u, required(p + "triggers")
	case b.Triggers.Null:
		return u, sunlamp.Invalid("%striggers should be array", p)
	case b.Triggers.Set:
		if len(b.Triggers.Value) == 0 {
			return u, sunlamp.Invalid("%striggers should NOT have fewer than 1 items", p)
		}
		ts := []string{}
		for i, tr := range b.Triggers.Value {
			if !sunlamp.IsTrigger(tr) {
				return u, sunlamp.Invalid("%striggers[%d] should be one of the webhook triggers (case-sensitive), such as conversation:message", p, i)
			}
			if !slices.Contains(ts, tr) {
				ts = append(ts, tr)
			}
		}
		u.Triggers = ts
	}
	if b.IncludeFullUser.Null || b.IncludeFullSource.Null {
		return u, sunlamp.Invalid("%sincludeFullUser and includeFullSource should be boolean", p)
	}
	if b.IncludeFullUser.Set {
		u.IncludeFullUser = &b.IncludeFullUser.Value
	}
	if b.IncludeFullSource.Set {
		u.IncludeFullSource = &b.IncludeFullSource.Value
	}
	return u, nil
}

// newWebhook makes a webhook of u (validated for create).
func newWebhook(appID, integrationID string, u sunlamp.WebhookUpdate) sunlamp.Webhook {
	w := sunlamp.Webhook{
		ID: sunlamp.NewID(), AppID: appID, IntegrationID: integrationID, Version: sunlamp.WebhookVersion,
		Target: *u.Target, Triggers: u.Triggers, Secret: sunlamp.NewWebhookSecret(),
	}
	if u.IncludeFullUser != nil {
		w.IncludeFullUser = *u.IncludeFullUser
	}
	if u.IncludeFullSource != nil {
		w.IncludeFullSource = *u.IncludeFullSource
	}
	return w
}

// integrationKeyWire is the spec's apiKey.
type integrationKeyWire struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	Secret      string `json:"secret"`
}

func integrationKeyOut(k sunlamp.Key) integrationKeyWire {
	return integrationKeyWire{ID: k.ID, DisplayName: k.DisplayName, Secret: k.Secret}
}
