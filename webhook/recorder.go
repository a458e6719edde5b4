package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The webhook flight recorder (issue 15): every attempt is recorded (Config.Recorder) with what was
// sent, the secrets redacted, and what came back, so that a test or an operator can see why a
// webhook did not get an event. RedeliverEvent sends an event again, outside its schedule.

// AttemptRecorder keeps the records of attempts (sqlstore's RecordDeliveryAttempts).
type AttemptRecorder interface {
	RecordDeliveryAttempts(ctx context.Context, attempts []sunlamp.DeliveryAttempt) error
}

// redacted are the request headers that carry a secret: the webhook's secret itself, and the
// signature made with it (from which, with the body, the secret could be attacked offline).
var redacted = []string{"X-API-Key", "Webhook-Signature"}

// Redacted is what a recorded secret header reads.
const Redacted = "[redacted]"

// newRecord starts the record of an attempt of dl, nil without a recorder; start is when it began
// on the system clock (its duration is real time, whatever the emulator's clock does).
func (d *Dispatcher) newRecord(dl sunlamp.Delivery) (*sunlamp.DeliveryAttempt, time.Time) {
	start := time.Now()
	if d.cfg.Recorder == nil {
		return nil, start
	}
	return newAttemptRecord(dl, d.cfg.Clock.Now()), start
}

func newAttemptRecord(dl sunlamp.Delivery, now time.Time) *sunlamp.DeliveryAttempt {
	return &sunlamp.DeliveryAttempt{
		ID: sunlamp.NewID(), AppID: dl.Event.AppID, EventID: dl.Event.ID, EventType: dl.Event.Type, UserID: dl.Event.UserID,
		WebhookID: dl.Webhook.ID, Target: dl.Webhook.Target, Attempt: dl.Attempt, CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
}

// recordRequest notes the headers (secrets redacted) and the body sent.
func recordRequest(rec *sunlamp.DeliveryAttempt, h http.Header, body []byte) {
	if rec == nil {
		return
	}
	rec.RequestHeaders = h.Clone()
	for _, k := range redacted {
		if _, ok := rec.RequestHeaders[http.CanonicalHeaderKey(k)]; ok {
			rec.RequestHeaders[http.CanonicalHeaderKey(k)] = []string{Redacted}
		}
	}
	rec.RequestBody = body
}

// recordResponse reads the first 64 KB of resp's body (kept when recording, discarded otherwise, so
// that the connection can be reused) and notes the status and headers.
func recordResponse(rec *sunlamp.DeliveryAttempt, resp *http.Response) {
	if rec == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, sunlamp.MaxRecordedResponse))
		return
	}
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, io.LimitReader(resp.Body, sunlamp.MaxRecordedResponse))
	rec.ResponseStatus, rec.ResponseHeaders, rec.ResponseBody = resp.StatusCode, resp.Header.Clone(), buf.Bytes()
}

// finishRecord notes the attempt's outcome: its error, how long it took, and when a retry is due by
// the schedule (the retry is made then, or at once when that time has passed).
func finishRecord(rec *sunlamp.DeliveryAttempt, start time.Time, dl sunlamp.Delivery, r sunlamp.DeliveryResult) {
	if rec == nil {
		return
	}
	rec.Duration = time.Since(start)
	rec.Error, rec.Outcome = r.Error, r.Outcome
	if r.Outcome == sunlamp.Retry && dl.Attempt < len(Schedule) {
		rec.NextAttemptAt = dl.FirstAttemptAt.Add(Schedule[dl.Attempt])
	}
}

// recordAttempts hands the records of results to the recorder. A failure is logged and the records
// lost: the recorder is a window on deliveries, not their state.
func (d *Dispatcher) recordAttempts(ctx context.Context, results []sunlamp.DeliveryResult) {
	if d.cfg.Recorder == nil {
		return
	}
	var recs []sunlamp.DeliveryAttempt
	for _, r := range results {
		if r.Record != nil {
			recs = append(recs, *r.Record)
		}
	}
	if err := d.cfg.Recorder.RecordDeliveryAttempts(ctx, recs); err != nil {
		d.cfg.Logger.Error("webhook: record attempts", "error", err.Error(), "count", len(recs))
	}
}

// RedeliverEvent sends ev to wh once more, now, with the same event id (so the same webhook-id
// header), to target instead of wh's when target is not "", and returns the record of the attempt
// (also kept by the recorder). It is not retried, and the event's own deliveries are left as they
// are.
func (d *Dispatcher) RedeliverEvent(ctx context.Context, ev sunlamp.Event, wh sunlamp.Webhook, target string) sunlamp.DeliveryAttempt {
	if target != "" {
		wh.Target = target
	}
	now := d.cfg.Clock.Now()
	// As the last attempt of a delivery, so that a failure is final rather than scheduled.
	dl := sunlamp.Delivery{Event: ev, Webhook: wh, Attempt: MaxAttempts, FirstAttemptAt: now}
	rec, start := newAttemptRecord(dl, now), time.Now()
	r := d.send(ctx, dl, rec)
	finishRecord(rec, start, dl, r)
	rec.Attempt, rec.Redeliver = 1, true
	if d.cfg.Recorder != nil {
		d.recordAttempts(ctx, []sunlamp.DeliveryResult{{Record: rec}})
	}
	return *rec
}
