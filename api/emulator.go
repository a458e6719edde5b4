package api

import (
	"net/http"
	"reflect"
	"runtime"
	"strings"

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
	// be the store's clock (sqlstore.WithClock), Config.Clock and the webhook dispatcher's.
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

// operationOf returns the operationId that a handler serves, from its name: routes.go names every
// handler handle + the spec's operationId (handlePostMessage serves PostMessage). It is read once,
// when the route is registered.
func operationOf(h any) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name() // ".../api.(*Server).handlePostMessage-fm"
	name = name[strings.LastIndex(name, ".")+1:]
	name = strings.TrimSuffix(name, "-fm")
	return strings.TrimPrefix(name, "handle")
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
