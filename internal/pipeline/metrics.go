package pipeline

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensmd/portal/internal/jobs"
	"github.com/opensmd/portal/internal/store"
)

// Metrics are the pipeline's Prometheus metrics, per stage.
type Metrics struct {
	// Deliveries counts outbound delivery attempts by outcome: sent,
	// duplicate, retry, failed.
	Deliveries *prometheus.CounterVec
	// Received counts inbound SMD deliver requests by outcome: accepted,
	// duplicate, refused.
	Received *prometheus.CounterVec
	// Processed counts inbound messages by outcome: delivered, held,
	// failed.
	Processed *prometheus.CounterVec
	// Responses counts transport responses by direction (sent, received)
	// and outcome.
	Responses *prometheus.CounterVec
	// Stage times each pipeline stage: seal, deliver, open, respond,
	// and end_to_end (queued to final transport response).
	Stage *prometheus.HistogramVec
}

// NewMetrics returns unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_outbound_deliveries_total", Help: "Outbound SMD deliver attempts by outcome.",
		}, []string{"outcome"}),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_inbound_requests_total", Help: "Inbound SMD deliver requests by outcome.",
		}, []string{"outcome"}),
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_inbound_processed_total", Help: "Received messages opened and routed, by outcome.",
		}, []string{"outcome"}),
		Responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smd_transport_responses_total", Help: "Transport responses by direction and outcome.",
		}, []string{"direction", "outcome"}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "smd_stage_seconds", Help: "Duration of each pipeline stage.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"stage"}),
	}
}

// Register registers m and a queue-depth collector reading st.
func (m *Metrics) Register(reg prometheus.Registerer, st *store.Store) {
	reg.MustRegister(m.Deliveries, m.Received, m.Processed, m.Responses, m.Stage, &queueCollector{st: st})
}

func (m *Metrics) observe(stage string, start time.Time) {
	m.Stage.WithLabelValues(stage).Observe(time.Since(start).Seconds())
}

var queueDepth = prometheus.NewDesc("smd_queue_jobs", "Pipeline jobs waiting or running, by kind and state.",
	[]string{"kind", "state"}, nil)

// queueCollector reads the job queue's depth at scrape time.
type queueCollector struct{ st *store.Store }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepth }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.JobCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepth, err)
		return
	}
	// Every series is reported, zeros included, so a drained queue reads 0.
	for _, kind := range []string{jobs.Send{}.Kind(), jobs.Receive{}.Kind(), jobs.Respond{}.Kind()} {
		for _, state := range []string{"available", "running", "retryable", "scheduled"} {
			ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue,
				float64(counts[[2]string{kind, state}]), kind, state)
		}
	}
}
