package api

import (
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
)

// The emulator controls (issue 15) live under /_sunlamp/v1, account key only, in the envelope and
// with the validation of /v2. Reset, snapshot loading, the clock and faults exist only when the
// server runs as an emulator (`sunlamp serve --emulator`: Config.Emulator); otherwise they answer
// 404 and the request path pays one nil check for them. The webhook flight recorder, redelivery and
// snapshot export serve every mode.

// Emulator turns the emulator controls on.
type Emulator struct {
	// Clock is the server's virtual clock, which POST /_sunlamp/v1/clock moves: the same value must
	// be the store's clock (sqlstore.WithClock), Config.Clock and the webhook dispatcher's. Without
	// it the clock controls answer 404.
	Clock *sunlamp.VirtualClock
	// ClockMoved is called after the clock moved forward, so that work that became due runs at
	// once (the webhook dispatcher's ClockMoved); nil does nothing.
	ClockMoved func()
}

// emulator is the state of the emulator controls of a Server running as an emulator.
type emulator struct {
	cfg    Emulator
	faults faultTable
}

// errNotEmulator answers an emulator control on a server that is not an emulator.
var errNotEmulator = sunlamp.ErrNotFound

// emulatorOn returns errNotEmulator unless the server runs as an emulator.
func (s *Server) emulatorOn() error {
	if s.emu == nil {
		return errNotEmulator
	}
	return nil
}

// handlerOperation returns the operationId that a handler serves, from its name: routes.go names
// every handler handle + the spec's operationId (handlePostMessage serves PostMessage); ok is false
// for a handler not so named. It is read once, when the route is registered (faults and metrics).
func handlerOperation(h any) (op string, ok bool) {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name() // ".../api.(*Server).handlePostMessage-fm"
	name = strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
	op, ok = strings.CutPrefix(name, "handle")
	return op, ok && op != ""
}

// operationOf is handlerOperation for the handlers of handleLimited, all named handle + operationId.
func operationOf(h any) string {
	op, _ := handlerOperation(h)
	return op
}

// registerOperation notes the operation of a route, so that faults can name it: the operations of
// an app (their path holds {appId}) but the emulator controls themselves.
func (s *Server) registerOperation(pattern, op string) {
	if s.appOperations == nil {
		s.appOperations = map[string]bool{}
	}
	_, path, _ := strings.Cut(pattern, " ")
	if strings.Contains(path, "{appId}") && !emulatorControls[op] {
		s.appOperations[op] = true
	}
}

// emulatorControls are the operations of the emulator controls and the recorder, which no fault
// may take over (a test could lock itself out).
var emulatorControls = map[string]bool{
	"ResetAll": true, "ResetApp": true, "GetSnapshot": true, "LoadSnapshot": true, "GetClock": true, "MoveClock": true,
	"CreateFault": true, "ListFaults": true, "DeleteFault": true,
	"ListDeliveries": true, "GetDelivery": true, "RedeliverEvent": true,
}

// setUpEmulator readies the emulator state and the rate limiter of cfg, and the hook through which
// they see each authorized request.
func (s *Server) setUpEmulator(cfg Config) {
	s.webhooks = cfg.Webhooks
	if cfg.Emulator != nil {
		s.emu = &emulator{cfg: *cfg.Emulator}
	}
	if cfg.RateLimit > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit)
	}
	if s.emu == nil && s.limiter == nil {
		return
	}
	s.intercept = func(w http.ResponseWriter, r *http.Request, op string) bool {
		if s.limiter != nil && s.throttle(w, r) {
			return true
		}
		return s.emu != nil && s.emu.faults.n.Load() > 0 && s.injectFault(w, r, op)
	}
}

// handleResetAll removes every app and every key but the account keys.
func (s *Server) handleResetAll(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	if err := s.store.ResetAll(r.Context()); err != nil {
		return err
	}
	s.auth.noticed("*") // every app and app key is gone
	s.emu.faults.clear("")
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// handleResetApp empties the app but its configuration (settings, keys, integrations, webhooks,
// switchboard), and removes its faults: the state a test starts from.
func (s *Server) handleResetApp(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil {
		return err
	}
	appID := r.PathValue("appId")
	if err := s.store.ResetApp(r.Context(), appID); err != nil {
		return err
	}
	s.emu.faults.clear(appID)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// clockWire is the clock on the wire: its time, and how far it runs ahead of the system clock.
type clockWire struct {
	Now      string `json:"now"`
	OffsetMs int64  `json:"offsetMs"`
}

func (s *Server) clockOut() map[string]any {
	c := s.emu.cfg.Clock
	return map[string]any{"clock": clockWire{Now: formatTime(c.Now()), OffsetMs: c.Offset().Milliseconds()}}
}

// handleGetClock answers the virtual clock's time.
func (s *Server) handleGetClock(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil || s.emu.cfg.Clock == nil {
		return errNotEmulator
	}
	writeJSON(w, http.StatusOK, s.clockOut())
	return nil
}

// clockBody is MoveClock's body: exactly one of advance (a Go duration such as "15m" or "36h") and
// set (a time in the wire's format, or any RFC 3339 time).
type clockBody struct {
	Advance *string `json:"advance"`
	Set     *string `json:"set"`
}

// handleMoveClock moves the virtual clock forward, never back, for every server process sharing the
// database; work that became due (webhook retries, for one) runs at once.
func (s *Server) handleMoveClock(w http.ResponseWriter, r *http.Request) error {
	if err := s.emulatorOn(); err != nil || s.emu.cfg.Clock == nil {
		return errNotEmulator
	}
	var b clockBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	clock := s.emu.cfg.Clock
	var off time.Duration
	var err error
	switch {
	case (b.Advance == nil) == (b.Set == nil):
		return sunlamp.Invalid("should have exactly one of the properties 'advance' and 'set'")
	case b.Advance != nil:
		d, perr := time.ParseDuration(*b.Advance)
		if perr != nil || d < time.Millisecond {
			return sunlamp.Invalid("advance should be a positive duration such as 90s, 15m or 36h")
		}
		off, err = s.store.AdvanceClock(r.Context(), d)
	default:
		t, perr := time.Parse(time.RFC3339Nano, *b.Set)
		if perr != nil {
			return sunlamp.Invalid("set should be a time such as 2027-01-01T00:00:00.000Z")
		}
		// The offset that makes the clock read t now; the store refuses it if it is smaller than
		// the clock's (so that the clock never goes back, whichever process moved it last).
		// Rounded up to the millisecond the store keeps, so that the clock reads t or just after.
		d := t.Sub(time.Now())
		if rem := d % time.Millisecond; rem > 0 {
			d += time.Millisecond - rem
		}
		off, err = s.store.SetClockOffset(r.Context(), d)
	}
	if err != nil {
		return err
	}
	if clock.SetOffset(off) && s.emu.cfg.ClockMoved != nil {
		s.emu.cfg.ClockMoved()
	}
	writeJSON(w, http.StatusOK, s.clockOut())
	return nil
}
