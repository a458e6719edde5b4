// Package webhook delivers the events of the outbox to webhooks: it claims due deliveries from the
// store, renders each event's payload at the time of the attempt (so that erasing a user's data in
// the outbox reaches every later attempt), POSTs it with the Sunshine Conversations X-API-Key
// header and a Standard Webhooks signature, and retries as the service does: at most 5 attempts
// over 15 minutes with exponentially growing gaps, 20 s to answer, never again after 400, 401, 403,
// 404 or 406.
//
// Delivery is at least once: an event is sent again when a process dies between sending and
// recording the result. Its id (the webhook-id header and events[].id) stays the same, so that
// receivers can drop duplicates.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sunlamp/sunlamp"
)

// RenderFunc returns the payload object of ev as webhook wh receives it (includeFullUser and
// includeFullSource are the webhook's). The api package provides it, so that this package does
// not depend on the wire format.
type RenderFunc func(ev sunlamp.Event, wh sunlamp.Webhook) (json.RawMessage, error)

// Schedule gives, for each attempt, how long after the first attempt it is made: gaps of 1, 2, 4
// and 8 minutes, so that the 5th and last attempt comes 15 minutes after the first.
var Schedule = []time.Duration{0, 1 * time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute}

// MaxAttempts is the number of attempts made before a delivery is given up.
const MaxAttempts = 5

// Config is what a Dispatcher depends on. Zero values take the defaults named.
type Config struct {
	Store  sunlamp.DeliveryStore
	Render RenderFunc
	Clock  sunlamp.Clock // the system clock
	Client *http.Client  // keeps Workers connections per host and follows no redirects; its Timeout becomes Timeout
	Logger *slog.Logger  // discards
	// Workers bounds the POSTs in flight (64). Batch bounds the deliveries claimed at once (64).
	Workers, Batch int
	// Poll is how often due deliveries are looked for without a wake-up (1s): retries coming due,
	// and events committed by another process.
	Poll time.Duration
	// Lease is how long a claim keeps other processes off a delivery (60s); it must exceed Timeout.
	Lease time.Duration
	// Timeout is how long a target has to answer (20s, the service's).
	Timeout time.Duration
	// Retention is how long finished deliveries and delivered events are kept (24h).
	Retention time.Duration
	// ReleaseAllClaims makes Run start by releasing every claim: right when one process owns the
	// database (SQLite), so that what a killed process had claimed is sent at once on restart.
	ReleaseAllClaims bool
	// UserAgent is sent with every delivery ("Sunlamp").
	UserAgent string
	// Recorder, when set, keeps a record of every attempt: the webhook flight recorder
	// (recorder.go).
	Recorder AttemptRecorder
	// Metrics, when set, is told the outcome of every attempt and the store errors of the dispatcher.
	Metrics Metrics
}

// Metrics receives what the dispatcher measures (metrics.Metrics implements it).
type Metrics interface {
	// Delivery records an attempt's outcome: "delivered", "retry" or "given_up".
	Delivery(outcome string)
	// StoreError records a failed store call, named by the store method ("ClaimDeliveries").
	StoreError(op string)
}

// outcomeNames are the outcomes as Metrics names them.
var outcomeNames = map[sunlamp.DeliveryOutcome]string{sunlamp.Delivered: "delivered", sunlamp.Retry: "retry", sunlamp.GiveUp: "given_up"}

// measure tells the metrics, if any, what became of an attempt.
func (d *Dispatcher) measure(r sunlamp.DeliveryResult) {
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.Delivery(outcomeNames[r.Outcome])
	}
}

// storeFailed tells the metrics, if any, that the store call op failed.
func (d *Dispatcher) storeFailed(op string) {
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.StoreError(op)
	}
}

// Dispatcher delivers due deliveries. Run it once per process; several processes sharing a
// PostgreSQL database each run one and never send the same delivery at the same time.
type Dispatcher struct {
	cfg     Config
	worker  string
	wake    chan struct{}
	pruneCh chan struct{} // ClockMoved: prune now
	sem     chan struct{}
	results chan sunlamp.DeliveryResult
}

// New returns a dispatcher with cfg.
func New(cfg Config) *Dispatcher {
	if cfg.Clock == nil {
		cfg.Clock = sunlamp.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.Lease <= cfg.Timeout {
		cfg.Lease = cfg.Timeout + 10*time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Sunlamp"
	}
	if cfg.Client == nil {
		// Keep a connection per worker to a target: the default keeps 2 per host, so that most
		// deliveries to a busy target would open a new connection.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Workers
		cfg.Client = &http.Client{Transport: t}
	}
	client := *cfg.Client
	client.Timeout = cfg.Timeout
	if client.CheckRedirect == nil {
		// A redirect would turn the POST into a GET: answer the 3xx as a failure instead.
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	cfg.Client = &client
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Dispatcher{
		cfg:     cfg,
		worker:  hex.EncodeToString(b[:]),
		wake:    make(chan struct{}, 1),
		pruneCh: make(chan struct{}, 1),
		sem:     make(chan struct{}, cfg.Workers),
		results: make(chan sunlamp.DeliveryResult, cfg.Workers*4),
	}
}

// Worker returns the id this dispatcher claims deliveries under.
func (d *Dispatcher) Worker() string { return d.worker }

// Wake tells the dispatcher that deliveries may be due (a change was committed). It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// ClockMoved tells the dispatcher that its clock jumped forward (the emulator's virtual clock):
// retries that became due are made at once, and what the retention period left behind is pruned.
// It never blocks.
func (d *Dispatcher) ClockMoved() {
	select {
	case d.pruneCh <- struct{}{}:
	default:
	}
	d.Wake()
}

// Run delivers until ctx ends, then lets the POSTs in flight finish (each within Timeout), records
// their results and releases what it still holds.
func (d *Dispatcher) Run(ctx context.Context) error {
	bg := context.WithoutCancel(ctx)
	if d.cfg.ReleaseAllClaims {
		if err := d.cfg.Store.ReleaseDeliveryClaims(ctx, ""); err != nil {
			d.cfg.Logger.Error("webhook: release claims", "error", err.Error())
		}
	}
	var finisher sync.WaitGroup
	finisher.Add(1)
	go func() {
		defer finisher.Done()
		d.finish(bg)
	}()
	var sends sync.WaitGroup
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	d.prune(ctx)
loop:
	for ctx.Err() == nil {
		free := d.cfg.Workers - len(d.sem)
		claimed := 0
		if free > 0 {
			ds, err := d.cfg.Store.ClaimDeliveries(ctx, d.worker, d.cfg.Clock.Now(), d.cfg.Lease, min(free, d.cfg.Batch))
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Error("webhook: claim deliveries", "error", err.Error())
				d.storeFailed("ClaimDeliveries")
			}
			claimed = len(ds)
			for _, dl := range ds {
				d.sem <- struct{}{}
				sends.Add(1)
				go func() {
					defer sends.Done()
					r := d.attempt(bg, dl)
					<-d.sem
					d.results <- r
				}()
			}
			if claimed > 0 && claimed == min(free, d.cfg.Batch) {
				continue // there may be more due right now
			}
		}
		select {
		case <-ctx.Done():
			break loop
		case <-d.wake:
		case <-poll.C:
		case <-prune.C:
			d.prune(ctx)
		case <-d.pruneCh:
			d.prune(ctx)
		}
	}
	sends.Wait()
	close(d.results)
	finisher.Wait()
	return d.cfg.Store.ReleaseDeliveryClaims(bg, d.worker)
}

// finish records results as they come, several per transaction, until results is closed.
func (d *Dispatcher) finish(ctx context.Context) {
	for r := range d.results {
		batch := []sunlamp.DeliveryResult{r}
	drain:
		for len(batch) < 256 {
			select {
			case r, ok := <-d.results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := d.cfg.Store.FinishDeliveries(ctx, d.cfg.Clock.Now(), batch); err != nil {
			// The leases will end and the deliveries be sent again: at least once.
			d.cfg.Logger.Error("webhook: record delivery results", "error", err.Error(), "count", len(batch))
			d.storeFailed("FinishDeliveries")
		}
		d.recordAttempts(ctx, batch)
		d.Wake() // what followed a finished delivery in its conversation is now first in line
	}
}

func (d *Dispatcher) prune(ctx context.Context) {
	if err := d.cfg.Store.PruneDeliveries(ctx, d.cfg.Clock.Now().Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
		d.cfg.Logger.Error("webhook: prune deliveries", "error", err.Error())
		d.storeFailed("PruneDeliveries")
	}
}

// DeliverDue makes every attempt that is due now, one round after another until none is left,
// and returns how many it made. Tests use it with a settable clock instead of Run.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		ds, err := d.cfg.Store.ClaimDeliveries(ctx, d.worker, d.cfg.Clock.Now(), d.cfg.Lease, d.cfg.Batch)
		if err != nil || len(ds) == 0 {
			return total, err
		}
		results := make([]sunlamp.DeliveryResult, len(ds))
		var wg sync.WaitGroup
		for i, dl := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = d.attempt(ctx, dl)
			}()
		}
		wg.Wait()
		if err := d.cfg.Store.FinishDeliveries(ctx, d.cfg.Clock.Now(), results); err != nil {
			return total, err
		}
		d.recordAttempts(ctx, results)
		total += len(ds)
	}
}

// envelope is the body of a delivery: the spec's EventWebhooks.
type envelope struct {
	App struct {
		ID string `json:"id"`
	} `json:"app"`
	Webhook struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"webhook"`
	Events []eventWire `json:"events"`
}

type eventWire struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	Payload   json.RawMessage `json:"payload"`
}

// Body renders the body of a delivery of ev to wh.
func Body(render RenderFunc, ev sunlamp.Event, wh sunlamp.Webhook) ([]byte, error) {
	payload, err := render(ev, wh)
	if err != nil {
		return nil, err
	}
	var env envelope
	env.App.ID = ev.AppID
	env.Webhook.ID, env.Webhook.Version = wh.ID, wh.Version
	env.Events = []eventWire{{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), Payload: payload}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Sign returns the Standard Webhooks signature of a delivery: "v1," and the base64 HMAC-SHA256,
// keyed with the webhook secret's bytes, of "<id>.<timestamp>.<body>". (A Standard Webhooks library
// takes the key as "whsec_" + base64 of the secret.)
func Sign(secret, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signatureHeader (one or more space-separated "v1,<sig>") holds the
// signature of the delivery, comparing in constant time.
func Verify(secret, id string, timestamp int64, body []byte, signatureHeader string) bool {
	want := []byte(Sign(secret, id, timestamp, body))
	ok := false
	for _, s := range bytes.Fields([]byte(signatureHeader)) {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	return ok
}

// nonRecoverable are the answers after which the service never retries.
func nonRecoverable(status int) bool {
	switch status {
	case 400, 401, 403, 404, 406:
		return true
	}
	return false
}

// attempt makes one attempt of dl and says what became of it, with the recorder's record of it.
func (d *Dispatcher) attempt(ctx context.Context, dl sunlamp.Delivery) (r sunlamp.DeliveryResult) {
	defer func() { d.measure(r) }()
	if dl.Attempt > MaxAttempts {
		return d.send(ctx, dl, nil) // not an attempt: nothing is sent
	}
	rec, start := d.newRecord(dl)
	r = d.send(ctx, dl, rec)
	finishRecord(rec, start, dl, r)
	r.Record = rec
	return r
}

// send makes one attempt of dl and says what became of it, filling rec (when not nil) with what it
// sent and got.
func (d *Dispatcher) send(ctx context.Context, dl sunlamp.Delivery, rec *sunlamp.DeliveryAttempt) sunlamp.DeliveryResult {
	r := sunlamp.DeliveryResult{ID: dl.ID, ClaimedBy: dl.ClaimedBy, Attempt: dl.Attempt}
	log := d.cfg.Logger.With("webhook_id", dl.Webhook.ID, "event_id", dl.Event.ID, "attempt", dl.Attempt)
	if dl.Attempt > MaxAttempts { // claimed again after a crash on its last attempt
		r.Outcome, r.Error = sunlamp.GiveUp, "no attempts left"
		return r
	}
	body, err := Body(d.cfg.Render, dl.Event, dl.Webhook)
	if err != nil {
		log.Error("webhook: render event", "type", dl.Event.Type, "error", err.Error())
		r.Outcome, r.Error = sunlamp.GiveUp, "the event could not be rendered"
		return r
	}
	now := d.cfg.Clock.Now()
	ts := now.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.Webhook.Target, bytes.NewReader(body))
	if err != nil {
		r.Outcome, r.Error = sunlamp.GiveUp, "bad target URL"
		return r
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.cfg.UserAgent)
	h.Set("X-API-Key", dl.Webhook.Secret)
	h.Set("webhook-id", dl.Event.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", Sign(dl.Webhook.Secret, dl.Event.ID, ts, body))
	recordRequest(rec, h, body)
	resp, err := d.cfg.Client.Do(req)
	if err == nil {
		recordResponse(rec, resp) // reads the first 64 KB of the body, as is done without a recorder
		resp.Body.Close()
		r.Status = resp.StatusCode
	}
	switch {
	case err == nil && r.Status >= 200 && r.Status < 300:
		r.Outcome = sunlamp.Delivered
		return r
	case err == nil && nonRecoverable(r.Status):
		r.Outcome, r.Error = sunlamp.GiveUp, fmt.Sprintf("answered %d: not retried", r.Status)
		log.Warn("webhook: delivery refused", "status", r.Status)
		return r
	case err != nil:
		r.Error = describe(err)
	default:
		r.Error = fmt.Sprintf("answered %d", r.Status)
	}
	if dl.Attempt >= MaxAttempts {
		r.Outcome = sunlamp.GiveUp
		log.Warn("webhook: delivery given up", "status", r.Status, "error", r.Error)
		return r
	}
	r.Outcome = sunlamp.Retry
	r.NextAttemptAt = dl.FirstAttemptAt.Add(Schedule[dl.Attempt])
	if now := d.cfg.Clock.Now(); r.NextAttemptAt.Before(now) {
		r.NextAttemptAt = now
	}
	log.Info("webhook: delivery failed, will retry", "status", r.Status, "error", r.Error, "next", r.NextAttemptAt)
	return r
}

// describe says why a request failed without quoting the URL (it may carry credentials).
func describe(err error) string {
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "no answer within the timeout"
	}
	var urlErr interface{ Unwrap() error }
	if errors.As(err, &urlErr) {
		if inner := urlErr.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return "request failed"
}
