package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/sunlamp/sunlamp"
)

// interactiveDataRefWire is Apple's interactiveDataRef (downloadMessageRefBody.apple).
type interactiveDataRefWire struct {
	URL       Nullable[string] `json:"url"`
	Bid       Nullable[string] `json:"bid"`
	Key       Nullable[string] `json:"key"`
	Signature Nullable[string] `json:"signature"`
	Owner     Nullable[string] `json:"owner"`
}

// downloadMessageRefBody is the spec's downloadMessageRefBody.
type downloadMessageRefBody struct {
	UserID Nullable[string] `json:"userId"`
	Apple  Nullable[struct {
		InteractiveDataRef Nullable[interactiveDataRefWire] `json:"interactiveDataRef"`
	}] `json:"apple"`
}

func (b downloadMessageRefBody) validate() (sunlamp.InteractiveDataRef, error) {
	var ref sunlamp.InteractiveDataRef
	switch {
	case !b.UserID.Set:
		return ref, required("userId")
	case b.UserID.Null:
		return ref, sunlamp.Invalid("userId should be string")
	case b.UserID.Value == "":
		return ref, sunlamp.Invalid("userId should NOT be shorter than 1 characters")
	// The schema leaves apple optional, but it is the only channel the operation supports.
	case !b.Apple.Set:
		return ref, sunlamp.Invalid("should have required property 'apple': only Apple references can be downloaded")
	case b.Apple.Null:
		return ref, sunlamp.Invalid("apple should be object")
	case !b.Apple.Value.InteractiveDataRef.Set:
		return ref, required("apple.interactiveDataRef")
	case b.Apple.Value.InteractiveDataRef.Null:
		return ref, sunlamp.Invalid("apple.interactiveDataRef should be object")
	}
	w := b.Apple.Value.InteractiveDataRef.Value
	for _, f := range []struct {
		name string
		v    Nullable[string]
		dst  *string
	}{{"url", w.URL, &ref.URL}, {"bid", w.Bid, &ref.Bid}, {"key", w.Key, &ref.Key}, {"signature", w.Signature, &ref.Signature}, {"owner", w.Owner, &ref.Owner}} {
		switch {
		case !f.v.Set:
			return ref, required("apple.interactiveDataRef." + f.name)
		case f.v.Null:
			return ref, sunlamp.Invalid("apple.interactiveDataRef.%s should be string", f.name)
		}
		*f.dst = f.v.Value
	}
	return ref, nil
}

// handleDownloadMessageRef answers the interactive data an Apple reference points at, as the
// simulator recorded it (the service downloads it from iCloud and decrypts it with the key).
func (s *Server) handleDownloadMessageRef(w http.ResponseWriter, r *http.Request) error {
	var b downloadMessageRefBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	ref, err := b.validate()
	if err != nil {
		return err
	}
	d, err := s.store.InteractiveData(r.Context(), r.PathValue("appId"), r.PathValue("conversationId"), b.UserID.Value, ref)
	if err != nil {
		return err
	}
	writeRawJSON(w, http.StatusOK, d.Content)
	return nil
}

// interactiveDataBody is the body of the simulator's POST /_sunlamp/v1/apps/{appId}/interactiveData:
// an apple integration, its customer (a user id or externalId), and what the customer sent.
type interactiveDataBody struct {
	IntegrationID Nullable[string] `json:"integrationId"`
	UserID        Nullable[string] `json:"userId"`
	Bid           Nullable[string] `json:"bid"`
	Content       json.RawMessage  `json:"content"`
}

// handleRecordInteractiveData records interactive data that an Apple customer sent (a form, a list
// picker, a payment) and answers the reference that the service's passthrough:messaging webhook
// carries: {"interactiveDataRef": {url, bid, key, signature, owner}, "userId", "conversationId"}. The
// webhook itself goes out too, in the customer's conversation (opened if they had none).
func (s *Server) handleRecordInteractiveData(w http.ResponseWriter, r *http.Request) error {
	var b interactiveDataBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    Nullable[string]
	}{{"integrationId", b.IntegrationID}, {"userId", b.UserID}} {
		switch {
		case !f.v.Set:
			return required(f.name)
		case f.v.Null || f.v.Value == "":
			return sunlamp.Invalid("%s should be a non-empty string", f.name)
		}
	}
	if b.Bid.Null {
		return sunlamp.Invalid("bid should be string")
	}
	if b.Content == nil {
		return required("content")
	}
	var content bytes.Buffer
	if !isJSONObject(b.Content) || json.Compact(&content, b.Content) != nil {
		return sunlamp.Invalid("content should be object")
	}
	d, err := s.store.RecordInteractiveData(r.Context(), sunlamp.InteractiveData{
		ID: sunlamp.NewID(), AppID: r.PathValue("appId"), IntegrationID: b.IntegrationID.Value, UserID: b.UserID.Value,
		Ref: sunlamp.NewInteractiveDataRef(b.Bid.Value), Content: content.Bytes(),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"interactiveDataRef": map[string]string{"url": d.Ref.URL, "bid": d.Ref.Bid, "key": d.Ref.Key, "signature": d.Ref.Signature, "owner": d.Ref.Owner},
		"userId":             d.UserID,
		"conversationId":     d.ConversationID,
	})
	return nil
}
