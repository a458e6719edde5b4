package client

import (
	"bytes"
	"context"
	"io"
	"time"
)

// The emulator controls of Sunlamp (`sunlamp serve --emulator`), under /_sunlamp/v1 with an account
// key: faults, reset, the virtual clock and snapshots; and the webhook flight recorder, which every
// Sunlamp serves. The real service has none of them.

// emulatorAppPath is /_sunlamp/v1/apps/{appId} followed by rest, segments already escaped.
func emulatorAppPath(appID string, rest ...string) string {
	p := "/_sunlamp/v1/apps/" + seg(appID)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Fault makes an app's requests to one operation fail (or wait) as the service can: Status with its
// error envelope (and Retry-After for 429 and 503), after DelayMs, Count times (0: until deleted),
// each time with Probability (0: always).
type Fault struct {
	ID          string  `json:"id,omitempty"`
	OperationID string  `json:"operationId"`
	Status      int     `json:"status,omitempty"`
	Count       int     `json:"count,omitempty"`
	RetryAfter  *int    `json:"retryAfter,omitempty"`
	DelayMs     int     `json:"delayMs,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	// Fired is how many times the fault fired (returned, never sent).
	Fired     int    `json:"fired,omitempty"`
	CreatedAt string `json:"createdAt,omitempty"`
}

// CreateFault adds a fault to the app (emulator only).
func (c *Client) CreateFault(ctx context.Context, appID string, f Fault) (*Fault, error) {
	f.ID, f.Fired, f.CreatedAt = "", 0, ""
	var out struct{ Fault Fault }
	if err := c.do(ctx, request{method: "POST", path: emulatorAppPath(appID, "faults"), body: f}, &out); err != nil {
		return nil, err
	}
	return &out.Fault, nil
}

// ListFaults returns the app's faults, oldest first, with how many times each fired (emulator only).
func (c *Client) ListFaults(ctx context.Context, appID string) ([]Fault, error) {
	var out struct{ Faults []Fault }
	if err := c.do(ctx, request{method: "GET", path: emulatorAppPath(appID, "faults")}, &out); err != nil {
		return nil, err
	}
	return out.Faults, nil
}

// DeleteFault removes a fault of the app (emulator only).
func (c *Client) DeleteFault(ctx context.Context, appID, faultID string) error {
	return c.do(ctx, request{method: "DELETE", path: emulatorAppPath(appID, "faults", seg(faultID))}, nil)
}

// ResetApp empties the app but its settings, keys, integrations, webhooks and switchboard, and
// removes its faults (emulator only): what a test suite calls between tests.
func (c *Client) ResetApp(ctx context.Context, appID string) error {
	return c.do(ctx, request{method: "POST", path: emulatorAppPath(appID, "reset")}, nil)
}

// ResetAll removes every app and every key but the account keys (emulator only).
func (c *Client) ResetAll(ctx context.Context) error {
	return c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/reset"}, nil)
}

// Clock is the emulator's virtual clock: its time, and how far it runs ahead of the system clock.
type Clock struct {
	Now      string `json:"now"`
	OffsetMs int64  `json:"offsetMs"`
}

// GetClock returns the virtual clock (emulator only).
func (c *Client) GetClock(ctx context.Context) (*Clock, error) {
	var out struct{ Clock Clock }
	if err := c.do(ctx, request{method: "GET", path: "/_sunlamp/v1/clock"}, &out); err != nil {
		return nil, err
	}
	return &out.Clock, nil
}

// AdvanceClock moves the virtual clock forward by d (emulator only); webhook retries and whatever
// else became due happen at once.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (*Clock, error) {
	return c.moveClock(ctx, map[string]string{"advance": d.String()})
}

// SetClock moves the virtual clock to t, which must not be before its time (emulator only).
func (c *Client) SetClock(ctx context.Context, t time.Time) (*Clock, error) {
	return c.moveClock(ctx, map[string]string{"set": t.UTC().Format(time.RFC3339Nano)})
}

func (c *Client) moveClock(ctx context.Context, body map[string]string) (*Clock, error) {
	var out struct{ Clock Clock }
	if err := c.do(ctx, request{method: "POST", path: "/_sunlamp/v1/clock", body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Clock, nil
}

// GetSnapshot returns the app's snapshot document: a versioned JSON document with everything the app
// holds, which LoadSnapshot (or `sunlamp serve --emulator --load FILE`) loads into a server.
func (c *Client) GetSnapshot(ctx context.Context, appID string) ([]byte, error) {
	resp, err := c.send(ctx, request{method: "GET", path: emulatorAppPath(appID, "snapshot")})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// LoadSnapshot creates the app of a snapshot document, keeping every id, and returns it (emulator
// only).
func (c *Client) LoadSnapshot(ctx context.Context, doc []byte) (*App, error) {
	var out struct{ App App }
	r := request{method: "POST", path: "/_sunlamp/v1/snapshots", contentType: "application/json",
		raw: func() (io.Reader, error) { return bytes.NewReader(doc), nil }}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out.App, nil
}

// Delivery is an attempt the webhook flight recorder kept: what was sent (secret headers redacted)
// and what came back.
type Delivery struct {
	ID            string            `json:"id"`
	EventID       string            `json:"eventId"`
	EventType     string            `json:"eventType"`
	WebhookID     string            `json:"webhookId"`
	Target        string            `json:"target"`
	Attempt       int               `json:"attempt"`
	Redelivery    bool              `json:"redelivery"`
	Outcome       string            `json:"outcome"` // delivered, retry or failed
	Error         string            `json:"error,omitempty"`
	DurationMs    int64             `json:"durationMs"`
	NextAttemptAt string            `json:"nextAttemptAt,omitempty"`
	CreatedAt     string            `json:"createdAt"`
	Request       DeliveryExchange  `json:"request"`
	Response      *DeliveryExchange `json:"response,omitempty"`
}

// DeliveryExchange is the request or response of a recorded attempt. BodyEncoding is "base64" for a
// response body that is not UTF-8 text.
type DeliveryExchange struct {
	Status       int               `json:"status,omitempty"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	BodyEncoding string            `json:"bodyEncoding,omitempty"`
}

// DeliveryFilter selects recorded attempts; empty fields select all. Status is an outcome
// (delivered, retry, failed) or an HTTP status ("503").
type DeliveryFilter struct {
	WebhookID, EventType, EventID, Status string
}

// DeliveryList is a page of ListDeliveries.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
	Meta       Meta       `json:"meta"`
	Links      *Links     `json:"links,omitempty"`
}

// ListDeliveries returns a page of the app's recorded delivery attempts, oldest first.
func (c *Client) ListDeliveries(ctx context.Context, appID string, f DeliveryFilter, p Page) (*DeliveryList, error) {
	q := p.query(nil)
	for k, v := range map[string]string{"webhookId": f.WebhookID, "eventType": f.EventType, "eventId": f.EventID, "status": f.Status} {
		if v != "" {
			q.Set("filter["+k+"]", v)
		}
	}
	var out DeliveryList
	if err := c.do(ctx, request{method: "GET", path: emulatorAppPath(appID, "deliveries"), query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDelivery returns one recorded delivery attempt.
func (c *Client) GetDelivery(ctx context.Context, appID, deliveryID string) (*Delivery, error) {
	var out struct{ Delivery Delivery }
	if err := c.do(ctx, request{method: "GET", path: emulatorAppPath(appID, "deliveries", seg(deliveryID))}, &out); err != nil {
		return nil, err
	}
	return &out.Delivery, nil
}

// Redelivery says where RedeliverEvent sends an event: every webhook of the app subscribed to its
// type (the zero value), one webhook, or a one-off target (rendered and signed as the webhook would).
type Redelivery struct {
	WebhookID string `json:"webhookId,omitempty"`
	Target    string `json:"target,omitempty"`
}

// RedeliverEvent sends an event once more, now, with the same event id (and webhook-id header), and
// returns the recorded attempts.
func (c *Client) RedeliverEvent(ctx context.Context, appID, eventID string, to Redelivery) ([]Delivery, error) {
	var out struct{ Deliveries []Delivery }
	if err := c.do(ctx, request{method: "POST", path: emulatorAppPath(appID, "events", seg(eventID), "redeliver"), body: to}, &out); err != nil {
		return nil, err
	}
	return out.Deliveries, nil
}
