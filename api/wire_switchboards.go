package api

import (
	"context"
	"regexp"

	"github.com/sunlamp/sunlamp"
)

// switchboardWire is the spec's switchboard.
type switchboardWire struct {
	ID                              string `json:"id"`
	Enabled                         bool   `json:"enabled"`
	DefaultSwitchboardIntegrationID string `json:"defaultSwitchboardIntegrationId,omitempty"`
}

func switchboardOut(sb sunlamp.Switchboard) switchboardWire {
	return switchboardWire{ID: sb.ID, Enabled: sb.Enabled, DefaultSwitchboardIntegrationID: sb.DefaultSwitchboardIntegrationID}
}

// switchboardUpdateBody is the spec's switchboardUpdateBody.
type switchboardUpdateBody struct {
	Enabled                         Nullable[bool]   `json:"enabled"`
	DefaultSwitchboardIntegrationID Nullable[string] `json:"defaultSwitchboardIntegrationId"`
}

// switchboardIntegrationWire is the spec's switchboardIntegration. The optional nullable fields are
// left out when unset, as in the spec's examples.
type switchboardIntegrationWire struct {
	ID                           string `json:"id"`
	Name                         string `json:"name"`
	IntegrationID                string `json:"integrationId"`
	IntegrationType              string `json:"integrationType"`
	DeliverStandbyEvents         bool   `json:"deliverStandbyEvents"`
	NextSwitchboardIntegrationID string `json:"nextSwitchboardIntegrationId,omitempty"`
	MessageHistoryCount          int    `json:"messageHistoryCount,omitempty"`
}

func switchboardIntegrationOut(si sunlamp.SwitchboardIntegration) switchboardIntegrationWire {
	return switchboardIntegrationWire{ID: si.ID, Name: si.Name, IntegrationID: si.IntegrationID, IntegrationType: si.IntegrationType,
		DeliverStandbyEvents: si.DeliverStandbyEvents, NextSwitchboardIntegrationID: si.NextSwitchboardIntegrationID,
		MessageHistoryCount: si.MessageHistoryCount}
}

// switchboardIntegrationBody is the spec's switchboardIntegrationCreateBody and
// switchboardIntegrationUpdateBody.
type switchboardIntegrationBody struct {
	Name                         Nullable[string] `json:"name"`
	IntegrationID                Nullable[string] `json:"integrationId"`
	IntegrationType              Nullable[string] `json:"integrationType"`
	DeliverStandbyEvents         Nullable[bool]   `json:"deliverStandbyEvents"`
	NextSwitchboardIntegrationID Nullable[string] `json:"nextSwitchboardIntegrationId"`
	MessageHistoryCount          Nullable[int]    `json:"messageHistoryCount"`
}

var switchboardNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validate checks the body's fields; create says whether name and one of integrationId or
// integrationType are required.
func (b switchboardIntegrationBody) validate(create bool) error {
	switch {
	case create && (!b.Name.Set || b.Name.Null):
		return required("name")
	case b.Name.Null:
		return sunlamp.Invalid("name should be string")
	case b.Name.Set && len(b.Name.Value) > sunlamp.MaxSwitchboardIntegrationName:
		return sunlamp.Invalid("name should NOT be longer than %d characters", sunlamp.MaxSwitchboardIntegrationName)
	case b.Name.Set && !switchboardNamePattern.MatchString(b.Name.Value):
		return sunlamp.Invalid(`name should match pattern "^[A-Za-z0-9_-]+$"`)
	}
	byID := b.IntegrationID.Set && !b.IntegrationID.Null
	byType := b.IntegrationType.Set && !b.IntegrationType.Null
	switch {
	case byID && byType:
		return sunlamp.Invalid("should have only one of 'integrationId' or 'integrationType'")
	case create && !byID && !byType:
		return sunlamp.Invalid("should have required property 'integrationId' or 'integrationType'")
	case b.IntegrationID.Null:
		return sunlamp.Invalid("integrationId should be string")
	case b.IntegrationType.Null:
		return sunlamp.Invalid("integrationType should be string")
	case byID && b.IntegrationID.Value == "":
		return sunlamp.Invalid("integrationId should NOT be shorter than 1 characters")
	case byType && b.IntegrationType.Value == "":
		return sunlamp.Invalid("integrationType should NOT be shorter than 1 characters")
	case b.DeliverStandbyEvents.Null:
		return sunlamp.Invalid("deliverStandbyEvents should be boolean")
	case b.MessageHistoryCount.Set && !b.MessageHistoryCount.Null && b.MessageHistoryCount.Value < 1:
		return sunlamp.Invalid("messageHistoryCount should be >= 1")
	case b.MessageHistoryCount.Set && !b.MessageHistoryCount.Null && b.MessageHistoryCount.Value > 10:
		return sunlamp.Invalid("messageHistoryCount should be <= 10")
	}
	return nil
}

// switchboardActionBody is the spec's passControlBody, offerControlBody, acceptControlBody and
// releaseControlBody.
type switchboardActionBody struct {
	SwitchboardIntegration Nullable[string]         `json:"switchboardIntegration"`
	Metadata               Nullable[map[string]any] `json:"metadata"`
}

// switchboardIntegrationRefWire is the spec's switchboardIntegrationWebhook: the value of a
// conversation's activeSwitchboardIntegration and pendingSwitchboardIntegration.
type switchboardIntegrationRefWire struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	IntegrationID   string `json:"integrationId"`
	IntegrationType string `json:"integrationType"`
}

func switchboardIntegrationRefOut(si *sunlamp.SwitchboardIntegration) *switchboardIntegrationRefWire {
	if si == nil {
		return nil
	}
	return &switchboardIntegrationRefWire{ID: si.ID, Name: si.Name, IntegrationID: si.IntegrationID, IntegrationType: si.IntegrationType}
}

// withSwitchboardStates fills in activeSwitchboardIntegration and pendingSwitchboardIntegration of
// conversations of an app, with one read for all of them. The fields stay out (the spec omits
// them) when nobody is in control or offered control.
func (s *Server) withSwitchboardStates(ctx context.Context, appID string, convs []conversationWire) error {
	ids := make([]string, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	states, err := s.store.SwitchboardStates(ctx, appID, ids)
	if err != nil {
		return err
	}
	for i := range convs {
		if st, ok := states[convs[i].ID]; ok {
			convs[i].ActiveSwitchboardIntegration = switchboardIntegrationRefOut(st.Active)
			convs[i].PendingSwitchboardIntegration = switchboardIntegrationRefOut(st.Pending)
		}
	}
	return nil
}

// conversationWithSwitchboard is conversationOut with the conversation's switchboard state.
func (s *Server) conversationWithSwitchboard(ctx context.Context, c sunlamp.Conversation) (conversationWire, error) {
	out := []conversationWire{conversationOut(c)}
	err := s.withSwitchboardStates(ctx, c.AppID, out)
	return out[0], err
}
