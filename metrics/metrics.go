// Package metrics holds Sunlamp's Prometheus metrics: requests by operationId and status and their
// latency, the group commit's batch sizes, webhook deliveries by outcome, the delivery backlog,
// erasures and deletions, the purge backlog and store errors, with Go's runtime and process metrics.
// `sunlamp serve --metrics-addr` serves them on a listener of their own.
//
// No label carries personal data: the only labels are operationIds (from the spec), HTTP status
// codes, delivery outcomes and the names of background operations. Never a user id, an externalId
// or a path.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StoreStats is what the store counts when the metrics are scraped.
type StoreStats struct {
	PendingDeliveries  int64         // webhook deliveries not yet delivered or given up
	OldestPendingAge   time.Duration // how long the oldest of them has waited (0 without any)
	PurgeBacklog       int64         // deleted users whose history is still being removed
	PurgeBacklogOldest time.Duration // how long the oldest of them has waited (0 without any)
}

// Config is what Metrics depends on.
type Config struct {
	// Stats reads the store's backlogs at each scrape (nil: those gauges are not served). It gets
	// at most ScrapeTimeout.
	Stats func(ctx context.Context) (StoreStats, error)
}

// ScrapeTimeout bounds the store queries of one scrape.
const ScrapeTimeout = 5 * time.Second

// Metrics is the registry of Sunlamp's metrics. Its methods are safe for concurrent use; a nil
// *Metrics records nothing, so that callers need no check.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	batch       prometheus.Histogram
	deliveries  *prometheus.CounterVec
	erasures    prometheus.Counter
	deletions   *prometheus.CounterVec
	storeErrors *prometheus.CounterVec

	mu     sync.Mutex
	routes map[string]*Route
}

// New returns the metrics, registered with Go's runtime and process collectors.
func New(cfg Config) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunlamp_http_requests_total",
			Help: "HTTP requests answered, by the spec's operationId (\"unrouted\" when no route took the request) and status code.",
		}, []string{"operationId", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sunlamp_http_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its handler, by operationId.",
			// 0.5 ms to 10 s: reads answer in about a millisecond, durable writes in a few, uploads and
			// erasures of large histories take longer.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operationId"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sunlamp_message_batch_size",
			Help:    "Messages committed together by one group commit of PostMessage.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunlamp_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered (2xx), retry (will be tried again), given_up (refused, or the last attempt failed).",
		}, []string{"outcome"}),
		erasures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sunlamp_erasures_total",
			Help: "Successful Delete User Personal Information calls.",
		}),
		deletions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunlamp_user_deletions_total",
			Help: "User deletions: requested (Delete User answered), completed (the background removal of the history finished, user:remove emitted).",
		}, []string{"stage"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sunlamp_store_errors_total",
			Help: "Unexpected errors of the store (answered 500, or 429 when the database was busy), by operationId or background operation.",
		}, []string{"operation"}),
		routes: map[string]*Route{},
	}
	m.reg.MustRegister(m.requests, m.latency, m.batch, m.deliveries, m.erasures, m.deletions, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{"delivered", "retry", "given_up"} {
		m.deliveries.WithLabelValues(o)
	}
	for _, s := range []string{"requested", "completed"} {
		m.deletions.WithLabelValues(s)
	}
	if cfg.Stats != nil {
		m.reg.MustRegister(&storeCollector{stats: cfg.Stats, errors: m.storeErrors.WithLabelValues("metrics_scrape")})
	}
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Route is the metrics of one operation, resolved once when its route is registered, so that a
// request costs a map lookup and a few atomic adds.
type Route struct {
	op        string
	requests  *prometheus.CounterVec
	latency   prometheus.Observer
	byStatus  sync.Map // status code -> prometheus.Counter
	succeeded prometheus.Counter
	storeErr  prometheus.Counter
}

// Route returns the metrics of the operation op (an operationId, or "unrouted"). A nil *Metrics
// returns a nil *Route, which records nothing.
func (m *Metrics) Route(op string) *Route {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.routes[op]; ok {
		return r
	}
	r := &Route{op: op, requests: m.requests, latency: m.latency.WithLabelValues(op), storeErr: m.storeErrors.WithLabelValues(op)}
	switch op { // the data-subject operations have counters of their own
	case "DeleteUserPersonalInformation":
		r.succeeded = m.erasures
	case "DeleteUser":
		r.succeeded = m.deletions.WithLabelValues("requested")
	}
	m.routes[op] = r
	return r
}

// Observe records a request answered with status after d.
func (r *Route) Observe(status int, d time.Duration) {
	if r == nil {
		return
	}
	if status == 0 { // nothing written: net/http answers 200
		status = http.StatusOK
	}
	c, ok := r.byStatus.Load(status)
	if !ok {
		c, _ = r.byStatus.LoadOrStore(status, r.requests.WithLabelValues(r.op, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	r.latency.Observe(d.Seconds())
	if r.succeeded != nil && status < 300 {
		r.succeeded.Inc()
	}
}

// StoreError records an unexpected store error of the operation.
func (r *Route) StoreError() {
	if r != nil {
		r.storeErr.Inc()
	}
}

// MessageBatch records a group commit of n messages.
func (m *Metrics) MessageBatch(n int) {
	if m != nil {
		m.batch.Observe(float64(n))
	}
}

// Delivery records a webhook delivery attempt's outcome: "delivered", "retry" or "given_up".
func (m *Metrics) Delivery(outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(outcome).Inc()
	}
}

// UserPurged records the end of a deleted user's background removal.
func (m *Metrics) UserPurged() {
	if m != nil {
		m.deletions.WithLabelValues("completed").Inc()
	}
}

// StoreError records an unexpected store error of a background operation (op names it, such as
// "ClaimDeliveries"; never an id).
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// storeCollector reads the store's backlogs at each scrape.
type storeCollector struct {
	stats  func(ctx context.Context) (StoreStats, error)
	errors prometheus.Counter
}

var (
	pendingDesc = prometheus.NewDesc("sunlamp_webhook_deliveries_pending",
		"Webhook deliveries waiting to be delivered (first attempt or retry).", nil, nil)
	oldestDesc = prometheus.NewDesc("sunlamp_webhook_oldest_pending_seconds",
		"Age of the oldest pending webhook delivery (0 when none is pending).", nil, nil)
	purgeDesc = prometheus.NewDesc("sunlamp_purge_backlog_users",
		"Deleted users whose conversation history is still being removed in the background.", nil, nil)
	purgeOldestDesc = prometheus.NewDesc("sunlamp_purge_oldest_seconds",
		"How long the oldest unfinished user deletion has been waiting (0 when none is).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- oldestDesc
	ch <- purgeDesc
	ch <- purgeOldestDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		c.errors.Inc()
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.PendingDeliveries))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, st.OldestPendingAge.Seconds())
	ch <- prometheus.MustNewConstMetric(purgeDesc, prometheus.GaugeValue, float64(st.PurgeBacklog))
	ch <- prometheus.MustNewConstMetric(purgeOldestDesc, prometheus.GaugeValue, st.PurgeBacklogOldest.Seconds())
}
