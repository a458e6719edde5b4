package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sunlamp/sunlamp"
	"github.com/sunlamp/sunlamp/api"
	"github.com/sunlamp/sunlamp/metrics"
	"github.com/sunlamp/sunlamp/sqlstore"
	"github.com/sunlamp/sunlamp/webhook"
)

// version is the program's version: the one `make dist` stamps, else the module version `go install
// ...@vX` records, else the source's.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return sunlamp.Version
}

// serveConfig is the configuration of `sunlamp serve`: flags beat environment variables beat defaults.
type serveConfig struct {
	addr, db, baseURL string
	accountKeyID      string
	accountKeySecret  string
	logLevel          string
	logFormat         string // text or json
	metricsAddr       string // "": no metrics listener
	mediaDir          string
	webhookPoll       time.Duration // 0: the dispatcher's default
	emulator          bool          // --emulator: reset, snapshot loading, the clock and faults
	load              string        // --load: a snapshot file loaded at start
	rateLimit         int           // --rate-limit: requests a second per key, 0 for none
	auditRetention    time.Duration // --audit-retention: how long audit entries and deletion receipts are kept
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", env("SUNLAMP_ADDR", "127.0.0.1:8090"), "address to listen on (`SUNLAMP_ADDR`)")
	fs.StringVar(&c.db, "db", env("SUNLAMP_DB", "sqlite:sunlamp.db"), "database: sqlite:PATH or a postgres:// URL (`SUNLAMP_DB`)")
	fs.StringVar(&c.baseURL, "base-url", env("SUNLAMP_BASE_URL", ""), "public URL used in links and media URLs; default http://ADDR (`SUNLAMP_BASE_URL`)")
	fs.StringVar(&c.mediaDir, "media-dir", env("SUNLAMP_MEDIA_DIR", ""), "SQLite: directory of uploaded attachments; default the database file's name + -media (`SUNLAMP_MEDIA_DIR`). PostgreSQL keeps them in the database")
	fs.StringVar(&c.logLevel, "log-level", env("SUNLAMP_LOG_LEVEL", "info"), "debug, info, warn or error (`SUNLAMP_LOG_LEVEL`)")
	fs.BoolVar(&c.emulator, "emulator", envBool(getenv, "SUNLAMP_EMULATOR"), "turn on the emulator controls for tests: reset, snapshot loading, a virtual clock, faults (`SUNLAMP_EMULATOR`=true)")
	fs.StringVar(&c.load, "load", env("SUNLAMP_LOAD", ""), "load the app of a snapshot file at start, keeping its ids, unless an app with its id exists (`SUNLAMP_LOAD`)")
	fs.IntVar(&c.rateLimit, "rate-limit", envInt(getenv, "SUNLAMP_RATE_LIMIT"), "requests a second per key (burst as many), 429 with Retry-After beyond; 0 for no limit (`SUNLAMP_RATE_LIMIT`)")
	fs.StringVar(&c.logFormat, "log-format", env("SUNLAMP_LOG_FORMAT", "text"), "text (key=value lines) or json (one object a line) (`SUNLAMP_LOG_FORMAT`)")
	fs.DurationVar(&c.auditRetention, "audit-retention", sunlamp.DefaultAuditRetention, "how long audit entries and deletion receipts are kept, e.g. 52560h (6 years, the default); older ones are removed in the background (`SUNLAMP_AUDIT_RETENTION`)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("SUNLAMP_METRICS_ADDR", ""), "serve Prometheus metrics at http://ADDR/metrics on a listener of their own; off when empty (`SUNLAMP_METRICS_ADDR`)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: sunlamp serve [flags]

Serves the Sunshine Conversations v2 API. Every flag can also be set with the environment variable
named after it; a flag wins over its variable.

Account key: SUNLAMP_ACCOUNT_KEY_ID (act_...) and SUNLAMP_ACCOUNT_KEY_SECRET make sure that account
key exists. When the database has no account key and none is given, one is generated and printed once.

Example:
  sunlamp serve --addr 127.0.0.1:8090 --db sqlite:sunlamp.db
  SUNLAMP_DB=postgres://postgres@127.0.0.1:5432/sunlamp sunlamp serve

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errUsage
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sunlamp serve: unexpected argument %q\n", fs.Arg(0))
		return c, errUsage
	}
	c.accountKeyID = getenv("SUNLAMP_ACCOUNT_KEY_ID")
	c.accountKeySecret = getenv("SUNLAMP_ACCOUNT_KEY_SECRET")
	if (c.accountKeyID == "") != (c.accountKeySecret == "") {
		return c, errors.New("SUNLAMP_ACCOUNT_KEY_ID and SUNLAMP_ACCOUNT_KEY_SECRET must be given together")
	}
	if c.accountKeyID != "" && !strings.HasPrefix(c.accountKeyID, sunlamp.PrefixAccountKey) {
		return c, fmt.Errorf("SUNLAMP_ACCOUNT_KEY_ID must start with %q", sunlamp.PrefixAccountKey)
	}
	if c.accountKeySecret != "" && len(c.accountKeySecret) < 16 {
		return c, errors.New("SUNLAMP_ACCOUNT_KEY_SECRET must be at least 16 characters")
	}
	if c.baseURL != "" && !strings.HasPrefix(c.baseURL, "http://") && !strings.HasPrefix(c.baseURL, "https://") {
		return c, fmt.Errorf("--base-url must be an http:// or https:// URL")
	}
	if c.load != "" && !c.emulator {
		return c, errors.New("--load needs --emulator: loading snapshots is an emulator control")
	}
	if c.rateLimit < 0 {
		return c, errors.New("--rate-limit must be 0 (no limit) or more")
	}
	if v := getenv("SUNLAMP_RATE_LIMIT"); v != "" && envInt(getenv, "SUNLAMP_RATE_LIMIT") == 0 && v != "0" {
		return c, fmt.Errorf("SUNLAMP_RATE_LIMIT must be a whole number, got %q", v)
	}
	if v := getenv("SUNLAMP_AUDIT_RETENTION"); v != "" && !flagSet(fs, "audit-retention") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("SUNLAMP_AUDIT_RETENTION must be a duration such as 52560h, got %q", v)
		}
		c.auditRetention = d
	}
	if c.auditRetention <= 0 {
		return c, errors.New("--audit-retention must be positive, e.g. 52560h (6 years)")
	}
	if v := getenv("SUNLAMP_WEBHOOK_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SUNLAMP_WEBHOOK_POLL must be a positive duration such as 1s, got %q", v)
		}
		c.webhookPoll = d
	}
	return c, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(c.logFormat, c.logLevel, stderr)
	if err != nil {
		return err
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(api.GCPercent)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if c.baseURL == "" {
		c.baseURL = "http://" + ln.Addr().String()
	}

	storeOpts := []sqlstore.Option{sqlstore.WithLogger(log), sqlstore.WithAuditRetention(c.auditRetention)}
	if c.mediaDir != "" {
		storeOpts = append(storeOpts, sqlstore.WithMediaDir(c.mediaDir))
	}
	em := newEmulation(c) // --emulator: one virtual clock for the store, the API and the dispatcher
	storeOpts = append(storeOpts, em.storeOptions()...)
	store, err := sqlstore.Open(ctx, c.db, storeOpts...)
	if errors.Is(err, sqlstore.ErrNoMediaDir) {
		return errors.New("--media-dir applies to SQLite only: with PostgreSQL, attachments are kept in the database so that every server process can serve them")
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", "error", err.Error())
		}
	}()
	var m *metrics.Metrics // nil without --metrics-addr: nothing is measured
	if c.metricsAddr != "" {
		m = newMetrics(store)
		addr, stopMetrics, err := serveMetrics(c.metricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", addr)
	}
	if err := ensureAccountKey(ctx, store, c, c.baseURL, stderr); err != nil {
		return err
	}
	if err := loadSnapshotFile(ctx, store, c, log); err != nil {
		return err
	}

	// The webhook dispatcher runs as long as the server, and stops before the store closes (defers
	// run last-in first-out): the POSTs in flight finish (within their 20 s) and their results are
	// recorded. Where one process owns the database (SQLite), the claims of a killed predecessor are
	// released at start and its events sent at once.
	dispatcher := webhook.New(webhook.Config{
		Store: store, Render: api.EventRenderer(store), Logger: log,
		ReleaseAllClaims: store.OwnsDatabase(), UserAgent: "Sunlamp/" + version(), Poll: c.webhookPoll,
		Clock: em.clockOrNil(), Recorder: store, // the webhook flight recorder serves every mode
		Metrics: dispatcherMetrics(m),
	})
	if err := em.start(ctx, store, dispatcher); err != nil {
		return err
	}
	dispatchCtx, stopDispatcher := context.WithCancel(context.WithoutCancel(ctx))
	dispatched := make(chan error, 1)
	store.OnOutbox(dispatcher.Wake) // deliveries may be due as soon as an outbox event commits
	go func() { dispatched <- dispatcher.Run(dispatchCtx) }()
	defer func() {
		stopDispatcher()
		if err := <-dispatched; err != nil {
			log.Error("stop webhook dispatcher", "error", err.Error())
		}
	}()

	handler := api.NewServer(api.Config{Store: store, BaseURL: c.baseURL, Logger: log, Clock: em.clockOrNil(), Emulator: em.api(dispatcher, store), Webhooks: dispatcher, RateLimit: c.rateLimit, Metrics: m})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    api.ServeMaxHeaderBytes, // the API answers over 64 KiB itself, in its envelope
	}
	srv.RegisterOnShutdown(handler.EndStreams) // else the pages' event streams hold the shutdown for minutes
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "sunlamp %s listening on http://%s (base URL %s, store: %s)\n", version(), ln.Addr(), c.baseURL, storeName(store))

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish, then close the store (deferred).
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func storeName(s *sqlstore.Store) string { return s.Name() }

// ensureAccountKey makes sure the configured account key exists, or, when none is configured and the
// database has no account key, makes one and prints it once.
func ensureAccountKey(ctx context.Context, store sunlamp.Store, c serveConfig, baseURL string, stderr io.Writer) error {
	if c.accountKeyID != "" {
		_, err := store.EnsureKey(ctx, sunlamp.Key{
			ID: c.accountKeyID, Scope: sunlamp.ScopeAccount, AccountID: sunlamp.DefaultAccountID,
			DisplayName: "configured account key", Secret: c.accountKeySecret,
		})
		return err
	}
	n, err := store.CountKeys(ctx, sunlamp.ScopeAccount)
	if err != nil || n > 0 {
		return err
	}
	k, err := store.CreateKey(ctx, sunlamp.Key{
		ID: sunlamp.NewKeyID(sunlamp.PrefixAccountKey), Scope: sunlamp.ScopeAccount, AccountID: sunlamp.DefaultAccountID,
		DisplayName: "generated account key", Secret: sunlamp.NewSecret(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, `
A new account key was generated. It is shown only this once; keep it somewhere safe.
  key id:  %s
  secret:  %s
Try it:
  curl -u '%s:%s' -H 'Content-Type: application/json' -d '{"displayName":"My App"}' %s/v2/apps

`, k.ID, k.Secret, k.ID, k.Secret, baseURL)
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
