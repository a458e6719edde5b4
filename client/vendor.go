package client

import (
	"context"
	"encoding/json"
)

// ConversionEventsBody is the body of PostConversionEvents: set exactly one channel.
type ConversionEventsBody struct {
	Messenger *MetaConversionEvent `json:"messenger,omitempty"`
	Instagram *MetaConversionEvent `json:"instagram,omitempty"`
	WhatsApp  *MetaConversionEvent `json:"whatsapp,omitempty"`
}

// MetaConversionEvent is the payload for Meta's Conversions API: events in Data, without the
// user_data and messaging_channel fields, which the service supplies.
type MetaConversionEvent struct {
	Payload MetaConversionPayload `json:"payload"`
}

// MetaConversionPayload holds the events, each an object in Meta's format.
type MetaConversionPayload struct {
	Data []map[string]any `json:"data"`
}

// ConversionEvents is what PostConversionEvents answers: the Meta dataset and how many events it got.
type ConversionEvents struct {
	DatasetID      string `json:"datasetId"`
	EventsReceived int    `json:"eventsReceived"`
}

// PostConversionEvents reports conversion events of a conversation on a Meta channel.
func (c *Client) PostConversionEvents(ctx context.Context, appID, convID string, body ConversionEventsBody) (*ConversionEvents, error) {
	var out struct{ ConversionEvents ConversionEvents }
	if err := c.do(ctx, request{method: "POST", path: convPath(appID, convID, "conversionEvents"), body: body}, &out); err != nil {
		return nil, err
	}
	return &out.ConversionEvents, nil
}

// DownloadMessageRefBody is the body of DownloadMessageRef: the user and the reference that the
// passthrough webhook carried.
type DownloadMessageRefBody struct {
	UserID string            `json:"userId"`
	Apple  *AppleMessageRefs `json:"apple,omitempty"`
}

// AppleMessageRefs holds an Apple Messages for Business interactive data reference.
type AppleMessageRefs struct {
	InteractiveDataRef AppleInteractiveDataRef `json:"interactiveDataRef"`
}

// AppleInteractiveDataRef is Apple's reference to interactive data kept on iCloud.
type AppleInteractiveDataRef struct {
	URL       string `json:"url"`
	Bid       string `json:"bid"`
	Key       string `json:"key"`
	Signature string `json:"signature"`
	Owner     string `json:"owner"`
}

// DownloadMessageRef fetches the data a channel's reference points at; the spec leaves its shape
// to the channel, so it is returned as JSON.
func (c *Client) DownloadMessageRef(ctx context.Context, appID, convID string, body DownloadMessageRefBody) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.do(ctx, request{method: "POST", path: convPath(appID, convID, "download"), body: body}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// InteractiveDataRecord is the body of Sunlamp's Apple simulator (POST
// /_sunlamp/v1/apps/{appId}/interactiveData, not offered by the real service): interactive data
// that a customer of an apple integration sent.
type InteractiveDataRecord struct {
	IntegrationID string         `json:"integrationId"`
	UserID        string         `json:"userId"` // an id or externalId
	Bid           string         `json:"bid,omitempty"`
	Content       map[string]any `json:"content"`
}

// InteractiveDataRecorded is the reference a passthrough:messaging webhook would carry.
type InteractiveDataRecorded struct {
	InteractiveDataRef AppleInteractiveDataRef `json:"interactiveDataRef"`
	UserID             string                  `json:"userId"`
}

// RecordInteractiveData has the simulator record interactive data that an Apple customer sent, and
// returns its reference for DownloadMessageRef (a Sunlamp extension: the real service answers 404).
func (c *Client) RecordInteractiveData(ctx context.Context, appID string, body InteractiveDataRecord) (*InteractiveDataRecorded, error) {
	var out InteractiveDataRecorded
	if err := c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/apps/" + seg(appID) + "/interactiveData", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
