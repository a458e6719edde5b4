package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sunlamp/sunlamp"
)

// The webhook flight recorder (issue 15), in every mode: the attempts the dispatcher made (kept 24
// hours of clock time), and redelivery of an event. Account key only.

// Redeliverer sends an event to a webhook once more (the webhook dispatcher's RedeliverEvent).
type Redeliverer interface {
	RedeliverEvent(ctx context.Context, ev sunlamp.Event, wh sunlamp.Webhook, target string) sunlamp.DeliveryAttempt
}

// attemptWire is a recorded attempt on the wire. Bodies are text: the request body is the JSON sent;
// a response body that is not UTF-8 text is base64 with bodyEncoding "base64".
type attemptWire struct {
	ID            string       `json:"id"`
	EventID       string       `json:"eventId"`
	EventType     string       `json:"eventType"`
	WebhookID     string       `json:"webhookId"`
	Target        string       `json:"target"`
	Attempt       int          `json:"attempt"`
	Redelivery    bool         `json:"redelivery"`
	Outcome       string       `json:"outcome"`
	Error         string       `json:"error,omitempty"`
	DurationMs    int64        `json:"durationMs"`
	NextAttemptAt string       `json:"nextAttemptAt,omitempty"`
	CreatedAt     string       `json:"createdAt"`
	Request       requestWire  `json:"request"`
	Response      *requestWire `json:"response,omitempty"`
}

type requestWire struct {
	Status       int               `json:"status,omitempty"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	BodyEncoding string            `json:"bodyEncoding,omitempty"`
}

// outcomeWire names the outcomes of an attempt.
var outcomeWire = map[sunlamp.DeliveryOutcome]string{sunlamp.Delivered: "delivered", sunlamp.Retry: "retry", sunlamp.GiveUp: "failed"}

// outcomeOf returns the outcome of a wire name.
func outcomeOf(name string) (sunlamp.DeliveryOutcome, bool) {
	for o, n := range outcomeWire {
		if n == name {
			return o, true
		}
	}
	return 0, false
}

func headersOut(h map[string][]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func bodyOut(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

func attemptOut(a sunlamp.DeliveryAttempt) attemptWire {
	w := attemptWire{ID: a.ID, EventID: a.EventID, EventType: a.EventType, WebhookID: a.WebhookID, Target: a.Target,
		Attempt: a.Attempt, Redelivery: a.Redeliver, Outcome: outcomeWire[a.Outcome], Error: a.Error,
		DurationMs: a.Duration.Milliseconds(), CreatedAt: formatTime(a.CreatedAt),
		Request: requestWire{Headers: headersOut(a.RequestHeaders), Body: string(a.RequestBody)}}
	if !a.NextAttemptAt.IsZero() {
		w.NextAttemptAt = formatTime(a.NextAttemptAt)
	}
	if a.ResponseStatus != 0 {
		body, enc := bodyOut(a.ResponseBody)
		w.Response = &requestWire{Status: a.ResponseStatus, Headers: headersOut(a.ResponseHeaders), Body: body, BodyEncoding: enc}
	}
	return w
}

// handleListDeliveries answers a page of the app's recorded attempts, oldest first, filtered by
// filter[webhookId], filter[eventType], filter[eventId] and filter[status] (an outcome: delivered,
// retry, failed; or the HTTP status the target answered).
func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := sunlamp.DeliveryAttemptFilter{WebhookID: q.Get("filter[webhookId]"), EventType: q.Get("filter[eventType]"), EventID: q.Get("filter[eventId]")}
	if st := q.Get("filter[status]"); st != "" {
		if o, ok := outcomeOf(st); ok {
			f.Outcome = &o
		} else if n, err := strconv.Atoi(st); err == nil && n >= 100 && n <= 599 {
			f.Status = n
		} else {
			return sunlamp.Invalid("filter[status] should be delivered, retry, failed or an HTTP status such as 503")
		}
	}
	list, cur, err := s.store.DeliveryAttempts(r.Context(), r.PathValue("appId"), f, p)
	if err != nil {
		return err
	}
	out := make([]attemptWire, 0, len(list))
	for _, a := range list {
		out = append(out, attemptOut(a))
	}
	s.writeList(w, r, "deliveries", out, cur)
	return nil
}

// handleGetDelivery answers one recorded attempt.
func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.DeliveryAttempt(r.Context(), r.PathValue("appId"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"delivery": attemptOut(a)})
	return nil
}

// redeliverBody is RedeliverEvent's body: which webhook renders and signs the event (by default,
// every webhook of the app subscribed to its type), and a one-off target to send it to instead of
// the webhook's.
type redeliverBody struct {
	WebhookID *string `json:"webhookId"`
	Target    *string `json:"target"`
}

// handleRedeliverEvent sends an event of the app again, now, with the same event id (and so the
// same webhook-id header), once, and answers the records of the attempts.
func (s *Server) handleRedeliverEvent(w http.ResponseWriter, r *http.Request) error {
	if s.webhooks == nil {
		return errNotEmulator // a server without a webhook dispatcher
	}
	var b redeliverBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	target := ""
	if b.Target != nil {
		u, err := url.Parse(*b.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return sunlamp.Invalid("target should be an absolute http or https URL")
		}
		target = *b.Target
	}
	ctx, appID := r.Context(), r.PathValue("appId")
	ev, err := s.store.Event(ctx, appID, r.PathValue("eventId"))
	if err != nil {
		return err
	}
	all, err := s.store.AppWebhooks(ctx, appID)
	if err != nil {
		return err
	}
	var hooks []sunlamp.Webhook
	for _, wh := range all {
		switch {
		case b.WebhookID != nil && wh.ID == *b.WebhookID:
			hooks = append(hooks, wh)
		case b.WebhookID == nil && sunlamp.IsTrigger(ev.Type) && containsString(wh.Triggers, ev.Type):
			hooks = append(hooks, wh)
		}
	}
	switch {
	case b.WebhookID != nil && len(hooks) == 0:
		return sunlamp.Invalid("webhookId names no webhook of the app")
	case len(hooks) == 0:
		return sunlamp.Invalid("no webhook of the app subscribes to %s: give a webhookId", ev.Type)
	case target != "" && len(hooks) > 1:
		return sunlamp.Invalid("%d webhooks subscribe to %s: give the webhookId whose rendering and secret the target gets", len(hooks), ev.Type)
	}
	out := make([]attemptWire, len(hooks))
	done := make(chan struct{}, len(hooks))
	for i, wh := range hooks {
		go func() {
			out[i] = attemptOut(s.webhooks.RedeliverEvent(context.WithoutCancel(ctx), ev, wh, target))
			done <- struct{}{}
		}()
	}
	for range hooks {
		<-done
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].WebhookID < out[j].WebhookID })
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
