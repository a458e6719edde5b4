package api

import (
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// switchboardAction decodes and validates the body of an action and applies it. The caller's
// integration, with integration scope, goes to the store: the spec refuses acceptControl (403)
// unless it is the pending switchboard integration, and releaseControl unless it is the active one.
func (s *Server) switchboardAction(w http.ResponseWriter, r *http.Request, typ string) error {
	var b switchboardActionBody
	if err := decodeJSON(r, &b); err != nil { // releaseControl comes with no body from the official client
		return err
	}
	a := sunlamp.SwitchboardAction{Type: typ}
	if typ == sunlamp.PassControl || typ == sunlamp.OfferControl {
		switch {
		case !b.SwitchboardIntegration.Set || b.SwitchboardIntegration.Null:
			return required("switchboardIntegration")
		case b.SwitchboardIntegration.Value == "":
			return sunlamp.Invalid("switchboardIntegration should NOT be shorter than 1 characters")
		}
		a.Target = b.SwitchboardIntegration.Value
	}
	md, err := validateMetadata("Switchboard action", "metadata", b.Metadata.Value)
	if err != nil {
		return err
	}
	a.Metadata = md
	if k := principal(r.Context()); k.Scope == sunlamp.ScopeIntegration {
		a.CallerIntegrationID = k.IntegrationID
	}
	if err := s.store.ApplySwitchboardAction(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) handlePassControl(w http.ResponseWriter, r *http.Request) error {
	return s.switchboardAction(w, r, sunlamp.PassControl)
}

func (s *Server) handleOfferControl(w http.ResponseWriter, r *http.Request) error {
	return s.switchboardAction(w, r, sunlamp.OfferControl)
}

func (s *Server) handleAcceptControl(w http.ResponseWriter, r *http.Request) error {
	return s.switchboardAction(w, r, sunlamp.AcceptControl)
}

func (s *Server) handleReleaseControl(w http.ResponseWriter, r *http.Request) error {
	return s.switchboardAction(w, r, sunlamp.ReleaseControl)
}
