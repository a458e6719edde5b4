package sunlamp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sunlamp/sunlamp"
)

// TestSwitchboardStateApply drives the switchboard state machine through every action from the
// states that matter, without a database: the state afterwards, the event and the error.
func TestSwitchboardStateApply(t *testing.T) {
	bot := sunlamp.SwitchboardIntegration{ID: "si-bot", Name: "bot", IntegrationID: "int-bot", IntegrationType: "custom", NextSwitchboardIntegrationID: "si-agent"}
	agent := sunlamp.SwitchboardIntegration{ID: "si-agent", Name: "agent", IntegrationID: "int-agent", IntegrationType: "custom"}
	// web's name is agent's id, and next's name is the keyword.
	web := sunlamp.SwitchboardIntegration{ID: "si-web", Name: "si-agent", IntegrationID: "int-web", IntegrationType: "web"}
	next := sunlamp.SwitchboardIntegration{ID: "si-next", Name: "next", IntegrationID: "int-next", IntegrationType: "zendesk"}
	all := []sunlamp.SwitchboardIntegration{bot, agent, web, next}
	conv := sunlamp.Conversation{ID: "c1", AppID: "app", Type: sunlamp.ConversationPersonal}
	meta := sunlamp.Metadata{"why": "handoff"}

	none := sunlamp.SwitchboardState{}
	botActive := sunlamp.SwitchboardState{Active: &bot}
	botOffering := sunlamp.SwitchboardState{Active: &bot, Pending: &agent}
	pendingOnly := sunlamp.SwitchboardState{Pending: &agent}
	agentActive := sunlamp.SwitchboardState{Active: &agent}
	webActive := sunlamp.SwitchboardState{Active: &web}

	invalidTarget := &sunlamp.EventError{Code: "switchboard_invalid_target", Message: "Switchboard invalid target"}
	const (
		noNext      = "bad_request: switchboardIntegration next names no switchboard integration: the active one has no nextSwitchboardIntegrationId"
		noMatch     = "bad_request: switchboardIntegration nobody matches no switchboard integration by id, name or integrationType"
		ambiguous   = "bad_request: switchboardIntegration custom is ambiguous: several switchboard integrations have that integrationType; give an id or a name"
		forbidden   = "forbidden: Forbidden"
		offerActive = "bad_request: Cannot offer control to the active switchboard integration."
		noPending   = "bad_request: There is no pendingSwitchboardIntegration"
	)
	for _, c := range []struct {
		name    string
		from    sunlamp.SwitchboardState
		action  sunlamp.SwitchboardAction
		want    sunlamp.SwitchboardState
		event   string              // "" when nothing is emitted
		failure *sunlamp.EventError // the :failure event's error
		err     string              // the error's text, "" for none
		kind    sunlamp.Kind
	}{
		{name: "pass by id", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "si-web"},
			want: webActive, event: "switchboard:passControl"},
		{name: "pass by name", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "agent"},
			want: agentActive, event: "switchboard:passControl"},
		{name: "an id wins over a name", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "si-agent"},
			want: agentActive, event: "switchboard:passControl"},
		{name: "pass by integration type", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "web"},
			want: webActive, event: "switchboard:passControl"},
		{name: "the keyword next wins over a name", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "next"},
			want: agentActive, event: "switchboard:passControl"},
		{name: "pass withdraws an offer", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "web", Metadata: meta},
			want: webActive, event: "switchboard:passControl"},
		{name: "pass to the active one", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "bot"},
			want: botActive, event: "switchboard:passControl"},
		{name: "pass to next without an active one", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "next"},
			want: none, event: "switchboard:passControl:failure", failure: invalidTarget, err: noNext, kind: sunlamp.KindInvalid},
		{name: "pass to next when the active one has none", from: webActive, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "next"},
			want: webActive, event: "switchboard:passControl:failure", failure: invalidTarget, err: noNext, kind: sunlamp.KindInvalid},
		{name: "pass to nobody", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "nobody", Metadata: meta},
			want: botOffering, event: "switchboard:passControl:failure", failure: invalidTarget, err: noMatch, kind: sunlamp.KindInvalid},
		{name: "pass to an ambiguous type", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.PassControl, Target: "custom"},
			want: botActive, event: "switchboard:passControl:failure", failure: invalidTarget, err: ambiguous, kind: sunlamp.KindInvalid},

		{name: "offer", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "agent", Metadata: meta},
			want: botOffering, event: "switchboard:offerControl"},
		{name: "offer to next", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "next"},
			want: botOffering, event: "switchboard:offerControl"},
		{name: "offer with nobody active", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "agent"},
			want: pendingOnly, event: "switchboard:offerControl"},
		{name: "a new offer withdraws the earlier one", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "web"},
			want: sunlamp.SwitchboardState{Active: &bot, Pending: &web}, event: "switchboard:offerControl"},
		{name: "offer to the active one", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "bot"},
			want: botOffering, event: "switchboard:offerControl:failure",
			failure: &sunlamp.EventError{Code: "switchboard_invalid_target", Message: "Cannot offer control to the active switchboard integration."},
			err:     offerActive, kind: sunlamp.KindInvalid},
		{name: "offer to nobody", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.OfferControl, Target: "nobody"},
			want: botActive, event: "switchboard:offerControl:failure", failure: invalidTarget, err: noMatch, kind: sunlamp.KindInvalid},

		{name: "accept", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl, Metadata: meta},
			want: agentActive, event: "switchboard:acceptControl"},
		{name: "accept by the pending integration", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl, CallerIntegrationID: "int-agent"},
			want: agentActive, event: "switchboard:acceptControl"},
		{name: "accept with nobody active", from: pendingOnly, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl},
			want: agentActive, event: "switchboard:acceptControl"},
		{name: "accept by another integration", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl, CallerIntegrationID: "int-bot"},
			err: forbidden, kind: sunlamp.KindForbidden},
		{name: "accept by an integration with nothing pending", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl, CallerIntegrationID: "int-agent"},
			err: forbidden, kind: sunlamp.KindForbidden},
		{name: "accept with nothing pending", from: botActive, action: sunlamp.SwitchboardAction{Type: sunlamp.AcceptControl, Metadata: meta},
			want: botActive, event: "switchboard:acceptControl:failure",
			failure: &sunlamp.EventError{Code: "switchboard_invalid_action", Message: "There is no pendingSwitchboardIntegration"},
			err:     noPending, kind: sunlamp.KindInvalid},

		{name: "release", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.ReleaseControl, Metadata: meta},
			want: none, event: "switchboard:releaseControl"},
		{name: "release with nobody active", from: none, action: sunlamp.SwitchboardAction{Type: sunlamp.ReleaseControl},
			want: none, event: "switchboard:releaseControl"},
		{name: "release by the active integration", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.ReleaseControl, CallerIntegrationID: "int-bot"},
			want: none, event: "switchboard:releaseControl"},
		{name: "release by another integration", from: botOffering, action: sunlamp.SwitchboardAction{Type: sunlamp.ReleaseControl, CallerIntegrationID: "int-agent"},
			err: forbidden, kind: sunlamp.KindForbidden},
		{name: "release by an integration with nobody active", from: pendingOnly, action: sunlamp.SwitchboardAction{Type: sunlamp.ReleaseControl, CallerIntegrationID: "int-agent"},
			err: forbidden, kind: sunlamp.KindForbidden},

		{name: "unknown action", from: botActive, action: sunlamp.SwitchboardAction{Type: "stealControl"},
			err: `unknown switchboard action "stealControl"`, kind: sunlamp.KindInternal},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.from.Apply(conv, c.action, all)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Fatalf("got error %v, want %q", err, c.err)
			case c.err != "" && sunlamp.KindOf(err) != c.kind:
				t.Fatalf("got error kind %v, want %v", sunlamp.KindOf(err), c.kind)
			}
			if c.event == "" {
				if diff := cmp.Diff(sunlamp.SwitchboardChange{}, got); diff != "" {
					t.Errorf("a refusal changed something (-want +got):\n%s", diff)
				}
				return
			}
			want := sunlamp.SwitchboardChange{State: c.want, EventType: c.event, Event: sunlamp.EventData{
				Conversation: &conv, Switchboard: c.want, ActionMetadata: c.action.Metadata, ActionError: c.failure}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("got a different change (-want +got):\n%s", diff)
			}
		})
	}
}
