package api

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sunlamp/sunlamp"
)

// Faults (emulator only): an app's requests to an operation answered with an error of the service,
// after a delay, a number of times or with a probability, so that a client's retries and error
// handling can be tested. A fault is kept in the memory of the server process that took it (it is
// test state, gone at restart); with several processes sharing a PostgreSQL database, send it to
// the process under test.

// maxFaultsPerApp bounds the faults of an app.
const maxFaultsPerApp = 100

// maxFaultDelay bounds a fault's delay, below the deadline of a JSON response (1 minute).
const maxFaultDelay = 30 * time.Second

// fault is one injected fault.
type fault struct {
	id          string
	appID       string
	operationID string
	status      int // 0: only a delay
	count       int // how many times it fires; 0 for every matching request
	retryAfter  int // seconds, for 429 and 503; -1 when the answer has no Retry-After
	delay       time.Duration
	probability float64 // (0, 1]
	fired       int
	createdAt   time.Time
}

// faultTable holds the faults of every app.
type faultTable struct {
	n     atomic.Int64 // how many faults exist: a request pays this load when there are none
	mu    sync.Mutex
	byApp map[string][]*fault
}

func (t *faultTable) add(f *fault) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byApp == nil {
		t.byApp = map[string][]*fault{}
	}
	if len(t.byApp[f.appID]) >= maxFaultsPerApp {
		return sunlamp.Invalid("An app can have at most %d faults", maxFaultsPerApp)
	}
	t.byApp[f.appID] = append(t.byApp[f.appID], f)
	t.n.Add(1)
	return nil
}

// list returns copies of the app's faults, oldest first.
func (t *faultTable) list(appID string) []fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]fault, 0, len(t.byApp[appID]))
	for _, f := range t.byApp[appID] {
		out = append(out, *f)
	}
	return out
}

func (t *faultTable) remove(appID, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	fs := t.byApp[appID]
	i := slices.IndexFunc(fs, func(f *fault) bool { return f.id == id })
	if i < 0 {
		return false
	}
	t.byApp[appID] = slices.Delete(fs, i, i+1)
	t.n.Add(-1)
	return true
}

// clear removes the faults of appID, or of every app when appID is "".
func (t *faultTable) clear(appID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if appID == "" {
		t.byApp = nil
		t.n.Store(0)
		return
	}
	t.n.Add(-int64(len(t.byApp[appID])))
	delete(t.byApp, appID)
}

// fire returns the first fault of appID on op that has firings left and whose dice say so,
// counting the firing.
func (t *faultTable) fire(appID, op string) (fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.byApp[appID] {
		if f.operationID != op || (f.count > 0 && f.fired >= f.count) {
			continue
		}
		if f.probability < 1 && rand.Float64() >= f.probability {
			continue
		}
		f.fired++
		return *f, true
	}
	return fault{}, false
}

// injectFault plays the fault of the request's app and operation, if one fires: it waits the
// fault's delay, then answers its error (true) or lets the request go on (false).
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, op string) bool {
	appID := r.PathValue("appId")
	if appID == "" {
		return false
	}
	f, ok := s.emu.faults.fire(appID, op)
	if !ok {
		return false
	}
	if f.delay > 0 && !sleep(r.Context(), f.delay) {
		return true // the client went away
	}
	if f.status == 0 {
		return false
	}
	e := faultAnswer(f.status, op)
	if f.retryAfter >= 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	writeJSON(w, f.status, errorBody{Errors: []errorEntry{e}})
	return true
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// faultAnswer is the error entry the service answers with status: the codes and titles Sunlamp
// answers itself, and for the others the status text in the service's snake_case.
func faultAnswer(status int, op string) errorEntry {
	switch status {
	case http.StatusBadRequest:
		return errorEntry{"bad_request", "Invalid request"}
	case http.StatusUnauthorized:
		return errorEntry{sunlamp.ErrUnauthorized.Code, sunlamp.ErrUnauthorized.Title}
	case http.StatusPaymentRequired:
		return errorEntry{"payment_required", "Payment required"}
	case http.StatusForbidden:
		return errorEntry{sunlamp.ErrForbidden.Code, sunlamp.ErrForbidden.Title}
	case http.StatusNotFound:
		return errorEntry{sunlamp.ErrNotFound.Code, sunlamp.ErrNotFound.Title}
	case http.StatusConflict:
		return errorEntry{"conflict", "Conflict"}
	case http.StatusRequestEntityTooLarge:
		return errorEntry{sunlamp.ErrRequestTooLarge.Code, sunlamp.ErrRequestTooLarge.Title}
	case http.StatusLocked:
		if op == "PostMessage" {
			return errorEntry{sunlamp.ErrMessageLimit.Code, sunlamp.ErrMessageLimit.Title}
		}
		return errorEntry{"locked", "Locked"}
	case http.StatusTooManyRequests:
		return errorEntry{errRateLimited.Code, errRateLimited.Title}
	case http.StatusInternalServerError:
		return errorEntry{"internal_error", "An unexpected error occurred"}
	}
	text := http.StatusText(status)
	return errorEntry{strings.ReplaceAll(strings.ToLower(text), " ", "_"), text}
}

// faultBody is CreateFault's body.
type faultBody struct {
	OperationID *string  `json:"operationId"`
	Status      *int     `json:"status"`
	Count       *int     `json:"count"`
	RetryAfter  *int     `json:"retryAfter"`
	DelayMs     *int     `json:"delayMs"`
	Probability *float64 `json:"probability"`
}

// validate checks every field and returns every problem at once.
func (b faultBody) validate(ops map[string]bool) (*fault, error) {
	var errs invalidErrors
	bad := func(format string, args ...any) { errs = append(errs, sunlamp.Invalid(format, args...)) }
	f := &fault{count: 0, retryAfter: -1, probability: 1}
	switch {
	case b.OperationID == nil:
		bad("should have required property 'operationId'")
	case !ops[*b.OperationID]:
		bad("operationId %q is not an operation of an app (such as PostMessage, GetUser, ListMessages)", *b.OperationID)
	default:
		f.operationID = *b.OperationID
	}
	if b.Status != nil {
		if *b.Status < 400 || *b.Status > 599 || http.StatusText(*b.Status) == "" {
			bad("status should be an HTTP error status (400 to 599)")
		} else {
			f.status = *b.Status
		}
	}
	if b.DelayMs != nil {
		if *b.DelayMs < 0 || time.Duration(*b.DelayMs)*time.Millisecond > maxFaultDelay {
			bad("delayMs should be between 0 and %d", maxFaultDelay.Milliseconds())
		} else {
			f.delay = time.Duration(*b.DelayMs) * time.Millisecond
		}
	}
	if b.Status == nil && (b.DelayMs == nil || *b.DelayMs == 0) {
		bad("should have required property 'status' (or a delayMs above 0 for a delay alone)")
	}
	if b.Count != nil {
		if *b.Count < 0 {
			bad("count should be >= 0")
		} else {
			f.count = *b.Count
		}
	}
	if b.Probability != nil {
		if p := *b.Probability; !(p > 0 && p <= 1) || math.IsNaN(p) {
			bad("probability should be above 0 and at most 1")
		} else {
			f.probability = p
		}
	}
	if f.status == http.StatusTooManyRequests {
		f.retryAfter = 1 // as Sunlamp's own 429s
	}
	if b.RetryAfter != nil {
		switch {
		case *b.RetryAfter < 0:
			bad("retryAfter should be >= 0")
		case f.status != http.StatusTooManyRequests && f.status != http.StatusServiceUnavailable:
			bad("retryAfter applies to status 429 and 503 only")
		default:
			f.retryAfter = *b.RetryAfter
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// faultWire is a fault on the wire.
type faultWire struct {
	ID          string  `json:"id"`
	OperationID string  `json:"operationId"`
	Status      int     `json:"status,omitempty"`
	Count       int     `json:"count,omitempty"`
	RetryAfter  *int    `json:"retryAfter,omitempty"`
	DelayMs     int64   `json:"delayMs,omitempty"`
	Probability float64 `json:"probability"`
	Fired       int     `json:"fired"`
	CreatedAt   string  `json:"createdAt"`
}

func faultOut(f fault) faultWire {
	w := faultWire{ID: f.id, OperationID: f.operationID, Status: f.status, Count: f.count, DelayMs: f.delay.Milliseconds(),
		Probability: f.probability, Fired: f.fired, CreatedAt: formatTime(f.createdAt)}
	if f.retryAfter >= 0 {
		w.RetryAfter = &f.retryAfter
	}
	return w
}

// handleCreateFault adds a fault to the app.
func (s *Server) handleCreateFault(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	var b faultBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	f, err := b.validate(s.appOperations)
	if err != nil {
		return err
	}
	f.id, f.appID, f.createdAt = sunlamp.NewID(), r.PathValue("appId"), s.clock.Now()
	if err := s.emu.faults.add(f); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"fault": faultOut(*f)})
	return nil
}

// handleListFaults lists the app's faults, oldest first, with how many times each fired.
func (s *Server) handleListFaults(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	out := []faultWire{}
	for _, f := range s.emu.faults.list(r.PathValue("appId")) {
		out = append(out, faultOut(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": out})
	return nil
}

var errFaultNotFound = sunlamp.NotFound("fault_not_found", "Fault not found")

// handleDeleteFault removes a fault of the app.
func (s *Server) handleDeleteFault(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	if !s.emu.faults.remove(r.PathValue("appId"), r.PathValue("faultId")) {
		return errFaultNotFound
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
