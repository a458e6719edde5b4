package client

import (
	"context"
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
