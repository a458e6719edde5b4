package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// conversionEventsBody is the spec's conversionEventsBody: one of messenger, instagram or whatsapp,
// each a metaConversionEvent ({payload: {data: [object]}}).
type conversionEventsBody struct {
	Messenger json.RawMessage `json:"messenger"`
	Instagram json.RawMessage `json:"instagram"`
	WhatsApp  json.RawMessage `json:"whatsapp"`
}

// validate returns the channel and the payload as sent, with the number of events in its data.
func (b conversionEventsBody) validate() (channel string, payload json.RawMessage, events int, err error) {
	given := 0
	for _, c := range []struct {
		name string
		raw  json.RawMessage
	}{{"messenger", b.Messenger}, {"instagram", b.Instagram}, {"whatsapp", b.WhatsApp}} {
		if c.raw != nil {
			given++
			channel, payload = c.name, c.raw
		}
	}
	if given != 1 {
		// The schema is a oneOf of three objects: exactly one of the keys makes a body match one.
		return "", nil, 0, sunlamp.Invalid("should have exactly one of 'messenger', 'instagram' or 'whatsapp'")
	}
	var ev struct {
		Payload json.RawMessage `json:"payload"`
	}
	if !isJSONObject(payload) || json.Unmarshal(payload, &ev) != nil {
		return "", nil, 0, sunlamp.Invalid("%s should be object", channel)
	}
	if ev.Payload == nil {
		return "", nil, 0, sunlamp.Invalid("%s should have required property 'payload'", channel)
	}
	var p struct {
		Data json.RawMessage `json:"data"`
	}
	if !isJSONObject(ev.Payload) || json.Unmarshal(ev.Payload, &p) != nil {
		return "", nil, 0, sunlamp.Invalid("%s.payload should be object", channel)
	}
	if p.Data == nil {
		return "", nil, 0, sunlamp.Invalid("%s.payload should have required property 'data'", channel)
	}
	var data []json.RawMessage
	if err := json.Unmarshal(p.Data, &data); err != nil || data == nil {
		return "", nil, 0, sunlamp.Invalid("%s.payload.data should be array", channel)
	}
	for i, d := range data {
		if !isJSONObject(d) {
			return "", nil, 0, sunlamp.Invalid("%s.payload.data[%d] should be object", channel, i)
		}
	}
	return channel, ev.Payload, len(data), nil
}

// isJSONObject reports whether raw is a JSON object (not null, an array or a scalar).
func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// handlePostConversionEvents records the events for the conversation's client on the channel and
// answers what the service answers once Meta took them: the dataset and how many events it got.
func (s *Server) handlePostConversionEvents(w http.ResponseWriter, r *http.Request) error {
	var b conversionEventsBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	channel, payload, n, err := b.validate()
	if err != nil {
		return err
	}
	e, err := s.store.RecordConversionEvent(r.Context(), sunlamp.ConversionEvent{
		AppID: r.PathValue("appId"), ConversationID: r.PathValue("conversationId"), Channel: channel,
		Payload: payload, EventsReceived: n,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversionEvents": map[string]any{"datasetId": e.DatasetID, "eventsReceived": e.EventsReceived}})
	return nil
}

// conversionEventWire is a recorded PostConversionEvents call under /_sunlamp/v1.
type conversionEventWire struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversationId"`
	Channel        string          `json:"channel"`
	IntegrationID  string          `json:"integrationId"`
	DatasetID      string          `json:"datasetId"`
	EventsReceived int             `json:"eventsReceived"`
	Payload        json.RawMessage `json:"payload"`
	CreatedAt      string          `json:"createdAt"`
}

// handleListConversionEvents lists the conversion events recorded for an app, or for one of its
// conversations (GET /_sunlamp/v1/apps/{appId}[/conversations/{conversationId}]/conversionEvents),
// oldest first, paged like the v2 lists.
func (s *Server) handleListConversionEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	list, cur, err := s.store.ConversionEvents(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), p)
	if err != nil {
		return err
	}
	out := make([]conversionEventWire, 0, len(list))
	for _, e := range list {
		out = append(out, conversionEventWire{ID: e.ID, ConversationID: e.ConversationID, Channel: e.Channel, IntegrationID: e.IntegrationID,
			DatasetID: e.DatasetID, EventsReceived: e.EventsReceived, Payload: e.Payload, CreatedAt: formatTime(e.CreatedAt)})
	}
	meta, links := s.pageEnvelope(r, cur)
	writeJSON(w, http.StatusOK, struct {
		ConversionEvents []conversionEventWire `json:"conversionEvents"`
		Meta             metaWire              `json:"meta"`
		Links            *linksWire            `json:"links,omitempty"`
	}{out, meta, links})
	return nil
}
