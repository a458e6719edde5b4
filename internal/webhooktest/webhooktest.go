// Package webhooktest helps test webhook delivery: a receiver on loopback that records what it
// gets and answers as told, and validation of delivery bodies against the spec's webhook schemas.
package webhooktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sunlamp/sunlamp/internal/apitest"
)

// Received is one POST a Receiver got, with the first event of its body.
type Received struct {
	Header    http.Header
	Body      []byte
	EventID   string
	EventType string
	At        time.Time
}

// Payload returns the payload of the first event of the body.
func (r Received) Payload(tb testing.TB) map[string]any {
	tb.Helper()
	var env struct {
		Events []struct {
			Payload map[string]any `json:"payload"`
		} `json:"events"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || len(env.Events) == 0 {
		tb.Fatalf("webhook body without events: %s", r.Body)
	}
	return env.Events[0].Payload
}

// Receiver is a webhook target on loopback. Answer, when set, gives the status of each request from
// its event id and the number of the attempt (1 for the first); nil answers 200.
type Receiver struct {
	*httptest.Server
	Answer func(eventID string, attempt int) int

	mu    sync.Mutex
	got   []Received
	tries map[string]int
	added chan struct{}
}

// NewReceiver starts a receiver, closed when tb ends.
func NewReceiver(tb testing.TB, answer func(eventID string, attempt int) int) *Receiver {
	rc := &Receiver{Answer: answer, tries: map[string]int{}, added: make(chan struct{}, 1)}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Events []struct{ ID, Type string } `json:"events"`
	}
	_ = json.Unmarshal(body, &env)
	g := Received{Header: r.Header.Clone(), Body: body, At: time.Now()}
	if len(env.Events) > 0 {
		g.EventID, g.EventType = env.Events[0].ID, env.Events[0].Type
	}
	rc.mu.Lock()
	rc.tries[g.EventID]++
	n := rc.tries[g.EventID]
	answer := rc.Answer
	rc.mu.Unlock()
	status := http.StatusOK
	if answer != nil {
		status = answer(g.EventID, n)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, g)
	rc.mu.Unlock()
	select {
	case rc.added <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

// SetAnswer replaces the answer function.
func (rc *Receiver) SetAnswer(answer func(eventID string, attempt int) int) {
	rc.mu.Lock()
	rc.Answer = answer
	rc.mu.Unlock()
}

// All returns what the receiver got, in order of arrival.
func (rc *Receiver) All() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}

// IDs returns the event ids the receiver got, in order of arrival.
func (rc *Receiver) IDs() []string {
	var ids []string
	for _, g := range rc.All() {
		ids = append(ids, g.EventID)
	}
	return ids
}

// Tries returns how many requests carried eventID.
func (rc *Receiver) Tries(eventID string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.tries[eventID]
}

// WaitFor waits until done reports true about what was received, or fails tb after timeout.
func (rc *Receiver) WaitFor(tb testing.TB, timeout time.Duration, done func([]Received) bool) []Received {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		got := rc.All()
		if done(got) {
			return got
		}
		select {
		case <-rc.added:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("timed out after %s waiting for deliveries; got %d", timeout, len(got))
		}
	}
}

var spec struct {
	once    sync.Once
	doc     *openapi3.T
	byTitle map[string]*openapi3.Schema
	err     error
}

// ValidateBody checks a delivery body against the spec's x-webhooks EventWebhooks: the envelope's
// app and webhook sub-schemas, and each event against the event schema of its type (the schemas
// titled with the trigger name). Without ../shared/spec it logs and checks nothing.
func ValidateBody(tb testing.TB, body []byte) {
	tb.Helper()
	dir := apitest.SpecDir()
	if dir == "" {
		tb.Log("../shared/spec is absent: webhook bodies are not validated against the spec")
		return
	}
	spec.once.Do(func() {
		data, err := os.ReadFile(filepath.Join(dir, "openapi.yaml"))
		if err != nil {
			spec.err = err
			return
		}
		// The same in-memory fix as apitest's loader: one invalid `required: true` line.
		data = regexp.MustCompile("(?m)(profile.email`\\.\n)\\s+required: true\n").ReplaceAll(data, []byte("$1"))
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			spec.err = err
			return
		}
		apitest.ImplicitDiscriminatorMappings(doc) // a reply action would also match postback
		spec.doc = doc
		spec.byTitle = map[string]*openapi3.Schema{}
		for _, s := range doc.Components.Schemas {
			if s.Value != nil && s.Value.Title != "" {
				spec.byTitle[s.Value.Title] = s.Value
			}
		}
	})
	if spec.err != nil {
		tb.Fatalf("load spec: %v", spec.err)
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		tb.Fatalf("webhook body is not JSON: %v", err)
	}
	schemas := spec.doc.Components.Schemas
	for key, name := range map[string]string{"app": "appSubSchema", "webhook": "webhookSubSchema"} {
		if err := schemas[name].Value.VisitJSON(env[key]); err != nil {
			tb.Errorf("%s does not match %s: %v", key, name, err)
		}
	}
	events, _ := env["events"].([]any)
	if len(events) == 0 {
		tb.Errorf("webhook body has no events: %s", body)
	}
	for _, e := range events {
		typ, _ := e.(map[string]any)["type"].(string)
		s := spec.byTitle[typ]
		if s == nil && typ == "passthrough:messaging" {
			// The spec lists the trigger but gives it no event schema: the event's own fields
			// (id, type, createdAt, payload) are checked.
			s = schemas["eventSubSchema"].Value
		}
		if s == nil {
			tb.Errorf("the spec has no event schema titled %q", typ)
			continue
		}
		if err := s.VisitJSON(e); err != nil {
			tb.Errorf("%s event does not match the spec: %v\nbody: %s", typ, err, body)
		}
	}
}
