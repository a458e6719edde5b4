package sunlamp

import (
	"context"
	"fmt"
	"time"
)

// Switchboard routes the conversations of an app between switchboard integrations (a bot, an
// agent desk...): in each conversation one of them is active, at most one is pending (offered
// control), and the others are on standby. An app has at most one switchboard.
type Switchboard struct {
	ID      string
	AppID   string
	Enabled bool // while disabled, every linked integration receives every event
	// DefaultSwitchboardIntegrationID gets control of new conversations ("" when unset); an
	// enabled switchboard must have one.
	DefaultSwitchboardIntegrationID string
	CreatedAt                       time.Time
}

// SwitchboardUpdate says what UpdateSwitchboard changes: a nil field is left as it is; a pointer to
// "" clears the default.
type SwitchboardUpdate struct {
	Enabled                         *bool
	DefaultSwitchboardIntegrationID *string
}

// SwitchboardIntegration links an integration of the app to its switchboard.
type SwitchboardIntegration struct {
	ID            string
	AppID         string
	SwitchboardID string
	Name          string // [A-Za-z0-9_-], at most 128 characters, unique in its switchboard
	IntegrationID string
	// IntegrationType is the linked integration's type (custom, web...).
	IntegrationType string
	// DeliverStandbyEvents says whether the integration's webhooks receive conversation events
	// while it is not in control of the conversation.
	DeliverStandbyEvents bool
	// NextSwitchboardIntegrationID is the target of the `next` keyword of pass and offer ("" when
	// unset).
	NextSwitchboardIntegrationID string
	MessageHistoryCount          int // 1..10; 0 when unset
	CreatedAt                    time.Time
}

// SwitchboardIntegrationUpdate says what UpdateSwitchboardIntegration changes: nil fields are left
// as they are. IntegrationID or IntegrationType (not both) relinks it; a pointer to "" clears
// NextSwitchboardIntegrationID, a pointer to 0 clears MessageHistoryCount.
type SwitchboardIntegrationUpdate struct {
	Name                         *string
	IntegrationID                *string
	IntegrationType              *string
	DeliverStandbyEvents         *bool
	NextSwitchboardIntegrationID *string
	MessageHistoryCount          *int
}

// SwitchboardState is the switchboard state of a conversation: the switchboard integration in
// control and the one offered control, each nil when there is none.
type SwitchboardState struct {
	Active  *SwitchboardIntegration
	Pending *SwitchboardIntegration
}

// The switchboard actions on a conversation, by the name of their operation.
const (
	PassControl    = "passControl"
	OfferControl   = "offerControl"
	AcceptControl  = "acceptControl"
	ReleaseControl = "releaseControl"
)

// SwitchboardAction is a PassControl, OfferControl, AcceptControl or ReleaseControl on a
// conversation.
type SwitchboardAction struct {
	Type string // PassControl, OfferControl, AcceptControl or ReleaseControl
	// Target names the switchboard integration of pass and offer: its id, else its name, else its
	// integration type, or the keyword "next".
	Target   string
	Metadata Metadata // copied into the action's webhook event
	// CallerIntegrationID is the custom integration calling with integration scope, "" for app
	// and account scope: accept is then refused unless it is the pending one, release unless it is
	// the active one.
	CallerIntegrationID string
}

// SwitchboardChange is what a switchboard action does to a conversation: the state to keep and the
// event to emit.
type SwitchboardChange struct {
	// State is the conversation's switchboard state after the action; after a failure, the state
	// before it.
	State SwitchboardState
	// EventType is the event to emit: "switchboard:" and the action, with ":failure" appended when
	// the state machine refused the action.
	EventType string
	// Event is that event's snapshot: the conversation, State, the action's metadata and, after a
	// failure, its error.
	Event EventData
}

// Apply is the switchboard state machine: it applies action a to conversation c, whose state is
// st, among all the switchboard integrations of its switchboard. It only decides; the caller saves
// the state and emits the event.
//
//   - passControl makes the target active and withdraws any offer; offerControl makes the target
//     pending (an earlier offer is withdrawn), unless it is the active one; acceptControl makes the
//     pending one active; releaseControl leaves nobody active or pending.
//   - A failure of the state machine (a target of pass or offer that names no switchboard
//     integration, or several; an offer to the active one; an accept with nothing pending) returns
//     the state unchanged with the :failure event, and the error to answer once that event is
//     written.
//   - A refusal returns the error alone, with no EventType: ErrForbidden when the caller is an
//     integration other than the pending one (accept) or the active one (release), and an error
//     for an unknown action.
func (st SwitchboardState) Apply(c Conversation, a SwitchboardAction, all []SwitchboardIntegration) (SwitchboardChange, error) {
	fail := func(err error, code, message string) (SwitchboardChange, error) {
		ch := st.change(c, a, "switchboard:"+a.Type+":failure")
		ch.Event.ActionError = &EventError{Code: code, Message: message}
		return ch, err
	}
	next := st
	switch a.Type {
	case PassControl, OfferControl:
		target, err := resolveSwitchboardTarget(all, st.Active, a.Target)
		if err != nil {
			return fail(err, "switchboard_invalid_target", "Switchboard invalid target")
		}
		if a.Type == PassControl {
			next = SwitchboardState{Active: target}
			break
		}
		if st.Active != nil && target.ID == st.Active.ID {
			return fail(ErrOfferToActive, "switchboard_invalid_target", ErrOfferToActive.Title)
		}
		next.Pending = target
	case AcceptControl:
		if a.CallerIntegrationID != "" && (st.Pending == nil || st.Pending.IntegrationID != a.CallerIntegrationID) {
			return SwitchboardChange{}, ErrForbidden
		}
		if st.Pending == nil {
			return fail(ErrNothingPending, "switchboard_invalid_action", ErrNothingPending.Title)
		}
		next = SwitchboardState{Active: st.Pending}
	case ReleaseControl:
		if a.CallerIntegrationID != "" && (st.Active == nil || st.Active.IntegrationID != a.CallerIntegrationID) {
			return SwitchboardChange{}, ErrForbidden
		}
		next = SwitchboardState{}
	default:
		return SwitchboardChange{}, fmt.Errorf("unknown switchboard action %q", a.Type)
	}
	return next.change(c, a, "switchboard:"+a.Type), nil
}

// change is the SwitchboardChange that leaves c in state st and emits typ about it.
func (st SwitchboardState) change(c Conversation, a SwitchboardAction, typ string) SwitchboardChange {
	return SwitchboardChange{State: st, EventType: typ,
		Event: EventData{Conversation: &c, Switchboard: st, ActionMetadata: a.Metadata}}
}

// resolveSwitchboardTarget finds the switchboard integration that target names: the keyword next
// (the active one's nextSwitchboardIntegrationId), else by id, then name, then integration type.
// The spec calls an ambiguous type an error. The keyword comes first, so a switchboard integration
// named "next" is reached by its id (the spec does not say which wins).
func resolveSwitchboardTarget(all []SwitchboardIntegration, active *SwitchboardIntegration, target string) (*SwitchboardIntegration, error) {
	byID := func(id string) *SwitchboardIntegration {
		for i := range all {
			if all[i].ID == id {
				return &all[i]
			}
		}
		return nil
	}
	if target == "next" {
		if active == nil || active.NextSwitchboardIntegrationID == "" {
			return nil, Invalid("switchboardIntegration next names no switchboard integration: the active one has no nextSwitchboardIntegrationId")
		}
		if next := byID(active.NextSwitchboardIntegrationID); next != nil {
			return next, nil
		}
	}
	if si := byID(target); si != nil {
		return si, nil
	}
	for i := range all {
		if all[i].Name == target {
			return &all[i], nil
		}
	}
	var found *SwitchboardIntegration
	for i := range all {
		if all[i].IntegrationType == target {
			if found != nil {
				return nil, Invalid("switchboardIntegration %s is ambiguous: several switchboard integrations have that integrationType; give an id or a name", target)
			}
			found = &all[i]
		}
	}
	if found == nil {
		return nil, Invalid("switchboardIntegration %s matches no switchboard integration by id, name or integrationType", target)
	}
	return found, nil
}

// Limits of switchboards.
const (
	// MaxSwitchboardIntegrations is the spec's limit of switchboard integrations per switchboard.
	MaxSwitchboardIntegrations = 10
	// MaxSwitchboardIntegrationName is the spec's limit of a switchboard integration's name.
	MaxSwitchboardIntegrationName = 128
)

// Switchboard errors with the spec's codes and titles where the spec gives them.
var (
	ErrSwitchboardNotFound            = &Error{Kind: KindNotFound, Code: "switchboard_not_found", Title: "Switchboard not found"}
	ErrSwitchboardIntegrationNotFound = &Error{Kind: KindNotFound, Code: "switchboard_integration_not_found", Title: "SwitchboardIntegration not found"}
	ErrOneSwitchboardPerApp           = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Only one switchboard can be created per app"}
	ErrTooManySwitchboardIntegrations = &Error{Kind: KindInvalid, Code: "too_many_switchboard_integrations", Title: "Switchboard has reached the max number of switchboard integrations (10)"}
	ErrEnabledSwitchboardNeedsDefault = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Enabled switchboard must have an associated default switchboardIntegration"}
	// The spec leaves the status of these refusals unspecified: a 400 names what to change first.
	ErrDeleteDefaultSwitchboardIntegration = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Cannot delete the default switchboard integration: set another defaultSwitchboardIntegrationId first"}
	ErrDeleteNextSwitchboardIntegration    = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Cannot delete a switchboard integration that another one names as nextSwitchboardIntegrationId"}
	// The state-machine failures of the spec's :failure webhooks, also answered to the caller.
	ErrOfferToActive  = &Error{Kind: KindInvalid, Code: "bad_request", Title: "Cannot offer control to the active switchboard integration."}
	ErrNothingPending = &Error{Kind: KindInvalid, Code: "bad_request", Title: "There is no pendingSwitchboardIntegration"}
)

// SwitchboardStore keeps switchboards, their integrations and the switchboard state of
// conversations. Every method is scoped by app.
type SwitchboardStore interface {
	// CreateSwitchboard creates the app's switchboard, disabled. It returns app_not_found, or
	// ErrOneSwitchboardPerApp when the app has one already.
	CreateSwitchboard(ctx context.Context, appID string) (Switchboard, error)
	// Switchboards lists the app's switchboards (none or one).
	Switchboards(ctx context.Context, appID string) ([]Switchboard, error)
	// UpdateSwitchboard applies u. It returns ErrSwitchboardNotFound,
	// ErrSwitchboardIntegrationNotFound for a default that is not one of its switchboard
	// integrations, and ErrEnabledSwitchboardNeedsDefault when it would be enabled with no default.
	UpdateSwitchboard(ctx context.Context, appID, id string, u SwitchboardUpdate) (Switchboard, error)
	// DeleteSwitchboard removes the switchboard with its switchboard integrations and the
	// switchboard state of conversations; ErrSwitchboardNotFound if none.
	DeleteSwitchboard(ctx context.Context, appID, id string) error

	// CreateSwitchboardIntegration stores si (ID and CreatedAt set by the store), linked to the
	// integration si.IntegrationID, or when that is "" to the app's only integration of type
	// si.IntegrationType. It returns ErrSwitchboardNotFound, ErrIntegrationNotFound,
	// ErrSwitchboardIntegrationNotFound for an unknown next, ErrTooManySwitchboardIntegrations, and
	// a 400 for a name or an integration the switchboard has already, or an ambiguous type.
	CreateSwitchboardIntegration(ctx context.Context, si SwitchboardIntegration) (SwitchboardIntegration, error)
	// SwitchboardIntegrations lists a switchboard's integrations in creation order;
	// ErrSwitchboardNotFound.
	SwitchboardIntegrations(ctx context.Context, appID, switchboardID string) ([]SwitchboardIntegration, error)
	// UpdateSwitchboardIntegration applies u, with the errors of CreateSwitchboardIntegration and
	// ErrSwitchboardIntegrationNotFound.
	UpdateSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string, u SwitchboardIntegrationUpdate) (SwitchboardIntegration, error)
	// DeleteSwitchboardIntegration removes a switchboard integration; conversations it controlled
	// return to the default. It returns ErrSwitchboardIntegrationNotFound,
	// ErrDeleteDefaultSwitchboardIntegration or ErrDeleteNextSwitchboardIntegration.
	DeleteSwitchboardIntegration(ctx context.Context, appID, switchboardID, id string) error

	// ConversationWithSwitchboardState returns a conversation of app with its switchboard state in
	// one read; ErrConversationNotFound if there is none.
	ConversationWithSwitchboardState(ctx context.Context, appID, id string) (Conversation, SwitchboardState, error)
	// SwitchboardStates returns the switchboard state of the given conversations of the app, by
	// conversation id; conversations with nobody active or pending are left out.
	SwitchboardStates(ctx context.Context, appID string, conversationIDs []string) (map[string]SwitchboardState, error)
	// ApplySwitchboardAction applies a to a conversation and emits its switchboard event. It
	// returns ErrConversationNotFound, ErrSwitchboardNotFound when the app has no switchboard, and
	// ErrForbidden for a caller the action does not allow. The state-machine failures are returned
	// after their :failure event is committed: a 400 for a target of pass or offer that matches no
	// switchboard integration or several, ErrOfferToActive and ErrNothingPending.
	ApplySwitchboardAction(ctx context.Context, appID, conversationID string, a SwitchboardAction) error
}
