// Package metrics is what the worker tells Prometheus: the Temporal SDK's own
// metrics (through the SDK's tally handler on a Prometheus reporter) and
// caseflow's counters (cases, staff actions, clocks, alerts, reminders, the
// payer, bookings), with /healthz and /readyz on the same address. Labels
// carry programs, kinds and outcomes, never a case or patient id. The list is
// in docs/operations.md, "Metrics".
package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// EnvAddr is the environment variable of the worker's metrics address.
const EnvAddr = "CASEFLOW_METRICS_ADDR"

// Metrics holds the registry and caseflow's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	CasesOpened      *prometheus.CounterVec
	CasesClosed      *prometheus.CounterVec
	StaffActions     *prometheus.CounterVec
	Clocks           *prometheus.CounterVec
	Alerts           *prometheus.CounterVec
	AlertDeliveries  *prometheus.CounterVec
	Reminders        *prometheus.CounterVec
	PayerRequests    *prometheus.HistogramVec
	PayerErrors      *prometheus.CounterVec
	BookingConflicts *prometheus.CounterVec
	Steps            *prometheus.CounterVec
}

// New makes the registry with caseflow's collectors, the Go runtime's and
// the process's.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "caseflow", Name: name, Help: help}, labels)
		r.MustRegister(c)
		return c
	}
	m := &Metrics{
		Registry:         r,
		CasesOpened:      f("cases_opened_total", "Cases opened, by program.", "program"),
		CasesClosed:      f("cases_closed_total", "Cases closed, by program and closure reason.", "program", "reason"),
		StaffActions:     f("staff_actions_total", "Staff actions recorded, by action and result (the call outcome, the contact's with, else recorded).", "program", "action", "result"),
		Clocks:           f("clocks_total", "Audited clocks closed, by program, task kind and result when they closed (met, missed, unmet: done late or readmitted); a later change of result counts corrected.", "program", "kind", "result"),
		Alerts:           f("alerts_total", "Alerts raised to staff and automated calls, by program and kind.", "program", "kind"),
		AlertDeliveries:  f("alert_deliveries_total", "Delivery attempts of alerts, by outcome (delivered, failed).", "outcome"),
		Reminders:        f("reminders_total", "Appointment reminders, by outcome (sent, failed, skipped, cancelled).", "outcome"),
		PayerErrors:      f("payer_errors_total", "Prior-authorization calls to the payer that failed, by operation and status (the HTTP status, or transport).", "op", "status"),
		BookingConflicts: f("booking_conflicts_total", "Bookings refused by the schedule, by reason (no-slot, occurrence-booked, status-conflict).", "reason"),
		Steps:            f("steps_recorded_total", "Steps of cases written to PostgreSQL, by program.", "program"),
	}
	m.PayerRequests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caseflow", Name: "payer_request_duration_seconds",
		Help:    "Latency of prior-authorization calls to the payer, by operation and status (the decision, the HTTP status, or transport).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"op", "status"})
	r.MustRegister(m.PayerRequests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// TemporalHandler is the SDK's metrics handler reporting into the registry
// (names prefixed temporal_). Close the closer when the client is closed.
func (m *Metrics) TemporalHandler() (client.MetricsHandler, io.Closer, error) {
	reporter, err := tallyprom.Configuration{TimerType: "histogram"}.NewReporter(tallyprom.ConfigurationOptions{
		Registry: m.Registry,
		OnError:  func(error) {}, // a metric the SDK registers twice is dropped, never a panic
	})
	if err != nil {
		return nil, nil, err
	}
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer, nil
}

// Check is one readiness check: nil when the dependency answers.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Handler serves /metrics, /healthz (the process is up) and /readyz (every
// check answers within two seconds; 503 naming the ones that do not).
func (m *Metrics) Handler(checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		body, status := "", http.StatusOK
		for _, c := range checks {
			if err := c.Check(ctx); err != nil {
				status = http.StatusServiceUnavailable
				body += c.Name + ": unreachable\n"
			} else {
				body += c.Name + ": ok\n"
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
	return mux
}

// Serve listens on addr and serves h until ctx is done. It returns once
// listening, with the address it listens on (addr may end in :0); errors
// after that are reported on the returned channel.
func Serve(ctx context.Context, addr string, h http.Handler) (string, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), done, nil
}
