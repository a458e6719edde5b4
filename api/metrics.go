package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/metrics"
)

// unroutedOperation names, in metrics, the requests that no route took (404, 405, refused paths).
const unroutedOperation = "unrouted"

// measureRoute notes, when the server has metrics, the operation of the route pattern, by the name of
// its handler (a handler not named handle+operationId, such as the wrapper that handleLimited
// registers, is skipped: handleLimited then names the handler it wraps). The metrics of each
// pattern are resolved here, at start, so that a request costs one map lookup.
func (s *Server) measureRoute(pattern string, h any) {
	if s.metrics == nil {
		return
	}
	op, ok := handlerOperation(h)
	if !ok {
		return
	}
	if s.routeMetrics == nil {
		s.routeMetrics = map[string]*metrics.Route{"": s.metrics.Route(unroutedOperation)}
	}
	s.routeMetrics[pattern] = s.metrics.Route(op)
}

// measure records a finished request: its operation (by the pattern that served it), status and
// duration. No path, id or query goes into a label.
func (s *Server) measure(r *http.Request, status int, start time.Time) {
	if s.metrics == nil {
		return
	}
	rt, ok := s.routeMetrics[r.Pattern]
	if !ok {
		rt = s.routeMetrics[""]
	}
	rt.Observe(status, time.Since(start))
}

// measureError counts err as a store error of the request's operation when it is one: an error the
// API did not expect (a 500), or the database too busy to answer (a 429 from sunlamp.ErrBusy).
func (s *Server) measureError(r *http.Request, err error) {
	var invalid invalidErrors
	if s.metrics == nil || errors.As(err, &invalid) || errors.Is(err, context.Canceled) {
		return // a 400, or a client that went away
	}
	e := sunlamp.AsError(err)
	if e.Kind != sunlamp.KindInternal && e.Code != sunlamp.ErrBusy.Code {
		return
	}
	if rt, ok := s.routeMetrics[r.Pattern]; ok {
		rt.StoreError()
	}
}
