package api

import "net/http"

func (s *Server) handleJoinConversation(w http.ResponseWriter, r *http.Request) error {
	var b participantBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	ref, err := b.ref("", false)
	if err != nil {
		return err
	}
	p, err := s.store.JoinConversation(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"participant": participantOut(p)})
	return nil
}

func (s *Server) handleListParticipants(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	list, cur, err := s.store.Participants(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), p)
	if err != nil {
		return err
	}
	out := make([]participantWire, 0, len(list))
	for _, x := range list {
		out = append(out, participantOut(x))
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		Participants []participantWire `json:"participants"`
		Meta         metaWire          `json:"meta"`
		Links        *linksWire        `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}

func (s *Server) handleLeaveConversation(w http.ResponseWriter, r *http.Request) error {
	var b participantBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	ref, err := b.ref("", true)
	if err != nil {
		return err
	}
	if err := s.store.LeaveConversation(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), ref); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
