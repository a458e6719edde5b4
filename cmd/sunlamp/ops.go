package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sunlamp/sunlamp/metrics"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// newLogger returns the server's logger at level: slog's text lines (key=value) or, with format
// "json", one JSON object a line, for a log collector.
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

// newMetrics returns the metrics of a server on store, the store reporting to them.
func newMetrics(store *sqlstore.Store) *metrics.Metrics {
	m := metrics.New(metrics.Config{Stats: func(ctx context.Context) (metrics.StoreStats, error) {
		st, err := store.Stats(ctx)
		return metrics.StoreStats{
			PendingDeliveries: st.PendingDeliveries, OldestPendingAge: st.OldestPending,
			PurgeBacklog: st.PurgeBacklog, PurgeBacklogOldest: st.OldestPurgePending,
		}, err
	}})
	store.SetObserver(m)
	return m
}

// dispatcherMetrics returns m as the webhook dispatcher's metrics: nil, not a nil *Metrics in an
// interface, without them.
func dispatcherMetrics(m *metrics.Metrics) webhook.Metrics {
	if m == nil {
		return nil
	}
	return m
}

// serveMetrics serves m at /metrics on its own listener at addr (so that it can stay off the
// public port: put it on a private address), and returns its address and a function that stops it.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-addr: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "error", err.Error())
		}
	}()
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
