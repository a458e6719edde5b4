package api

import (
	"net/http"
	"regexp"

	"github.com/sunlamp/sunlamp"
)

// clientCreateBody is CreateClient's body.
type clientCreateBody struct {
	MatchCriteria *struct {
		Type          Nullable[string] `json:"type"`
		IntegrationID Nullable[string] `json:"integrationId"`
		Primary       Nullable[bool]   `json:"primary"`
		Address       Nullable[string] `json:"address"`     // mailgun
		Subject       Nullable[string] `json:"subject"`     // mailgun
		PhoneNumber   Nullable[string] `json:"phoneNumber"` // messagebird, twilio, whatsapp
	} `json:"matchCriteria"`
	Confirmation *struct {
		Type    Nullable[string] `json:"type"`
		Message map[string]any   `json:"message"` // sent to the user by the channel; never stored
	} `json:"confirmation"`
	Target *struct {
		ConversationID Nullable[string] `json:"conversationId"`
	} `json:"target"`
}

// phoneNumber is the spec's international format: "+", the country code, then digits with optional
// spaces and dashes ("+1 212-555-2368").
var phoneNumber = regexp.MustCompile(`^\+[1-9][0-9]*(?:[ -]?[0-9]+)*$`)

// validate checks the body and returns the client to create.
func (b clientCreateBody) validate() (sunlamp.Client, error) {
	var c sunlamp.Client
	if b.MatchCriteria == nil {
		return c, required("matchCriteria")
	}
	if b.Confirmation == nil {
		return c, required("confirmation")
	}
	if b.Target == nil {
		return c, required("target")
	}
	m := b.MatchCriteria
	str := func(field string, v Nullable[string], req bool) (string, error) {
		switch {
		case !v.Set && req:
			return "", sunlamp.Invalid("matchCriteria should have required property '%s'", field)
		case v.Null:
			return "", sunlamp.Invalid("matchCriteria.%s should be string", field)
		}
		return v.Value, nil
	}
	typ, err := str("type", m.Type, true)
	if err != nil {
		return c, err
	}
	switch typ {
	case "mailgun", "messagebird", "twilio", "whatsapp":
	default:
		return c, sunlamp.Invalid("matchCriteria.type should be equal to one of the allowed values: mailgun, messagebird, twilio, whatsapp")
	}
	if c.IntegrationID, err = str("integrationId", m.IntegrationID, true); err != nil {
		return c, err
	}
	if typ == "mailgun" {
		addr, err := str("address", m.Address, true)
		if err != nil {
			return c, err
		}
		if err := checkEmail("matchCriteria.address", addr); err != nil {
			return c, err
		}
		if _, err := str("subject", m.Subject, false); err != nil {
			return c, err
		}
	} else {
		phone, err := str("phoneNumber", m.PhoneNumber, true)
		if err != nil {
			return c, err
		}
		if !phoneNumber.MatchString(phone) {
			return c, sunlamp.Invalid("matchCriteria.phoneNumber should be a phone number in international format, with + and the country code")
		}
	}
	c.Primary = true // the spec's default
	if m.Primary.Null {
		return c, sunlamp.Invalid("matchCriteria.primary should be boolean")
	}
	if m.Primary.Set {
		c.Primary = m.Primary.Value
	}
	switch {
	case !b.Confirmation.Type.Set:
		return c, sunlamp.Invalid("confirmation should have required property 'type'")
	case b.Confirmation.Type.Null:
		return c, sunlamp.Invalid("confirmation.type should be string")
	}
	switch b.Confirmation.Type.Value {
	case "immediate", "userActivity", "prompt":
	default:
		return c, sunlamp.Invalid("confirmation.type should be equal to one of the allowed values: immediate, userActivity, prompt")
	}
	switch {
	case !b.Target.ConversationID.Set:
		return c, sunlamp.Invalid("target should have required property 'conversationId'")
	case b.Target.ConversationID.Null:
		return c, sunlamp.Invalid("target.conversationId should be string")
	}
	c.Type, c.TargetConversationID = typ, b.Target.ConversationID.Value
	return c, nil
}

// handleCreateClient starts a channel link: it stores a pending client and emits client:add (reason
// channelLinking). The integration must be an integration of the app of the matchCriteria's type,
// and the target conversation a conversation of the app. Sunlamp does not talk to channels, so the
// link stays pending; the match criteria (a phone number, an address) are not kept.
func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request) error {
	var b clientCreateBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	c, err := b.validate()
	if err != nil {
		return err
	}
	appID, ctx := r.PathValue("appId"), r.Context()
	if _, err := s.store.User(ctx, appID, r.PathValue("userIdOrExternalId")); err != nil {
		return err
	}
	in, err := s.store.Integration(ctx, appID, c.IntegrationID)
	if err != nil {
		return err
	}
	if in.Type != c.Type {
		return sunlamp.Invalid("matchCriteria.integrationId should be an integration of type %s", c.Type)
	}
	if _, err := s.store.Conversation(ctx, appID, c.TargetConversationID); err != nil {
		return err
	}
	c, err = s.store.CreateClient(ctx, appID, r.PathValue("userIdOrExternalId"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"client": clientOut(c)})
	return nil
}

func (s *Server) handleListClients(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	list, cur, err := s.store.Clients(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), p)
	if err != nil {
		return err
	}
	out := make([]clientWire, 0, len(list))
	for _, c := range list {
		out = append(out, clientOut(c))
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Clients []clientWire `json:"clients"`
		Meta    metaWire     `json:"meta"`
		Links   *linksWire   `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}

func (s *Server) handleRemoveClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.RemoveClient(r.Context(), r.PathValue("appId"), r.PathValue("userIdOrExternalId"), r.PathValue("clientId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
