package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are labelled by workspace (the claim name), never by token: a
// label per token would grow without bound and put secrets' ids in
// dashboards. Per-token usage is in the token list instead.
type metrics struct {
	requests  *prometheus.CounterVec
	prompt    *prometheus.CounterVec
	eval      *prometheus.CounterVec
	limited   *prometheus.CounterVec
	inflight  *prometheus.GaugeVec
	firstByte prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_gateway_requests_total", Help: "Requests forwarded to a workspace's Ollama, by workspace and status code (aborted: cut before an answer).",
		}, []string{"workspace", "code"}),
		prompt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_gateway_prompt_tokens_total", Help: "Prompt tokens Ollama evaluated (prompt_eval_count, usage.prompt_tokens), by workspace.",
		}, []string{"workspace"}),
		eval: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_gateway_eval_tokens_total", Help: "Tokens Ollama generated (eval_count, usage.completion_tokens), by workspace.",
		}, []string{"workspace"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_gateway_rate_limited_total", Help: "Requests refused by the per-token rate limit, by workspace.",
		}, []string{"workspace"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portal_gateway_inflight_requests", Help: "Requests being forwarded now, by workspace.",
		}, []string{"workspace"}),
		firstByte: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portal_gateway_upstream_header_seconds", Help: "Time until Ollama's response headers (model load and wake-up included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.prompt, m.eval, m.limited, m.inflight, m.firstByte} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
