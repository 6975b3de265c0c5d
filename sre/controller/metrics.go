package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics are served by the manager's metrics endpoint (/metrics).
var (
	incidentsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aichat_sre_incidents_total",
		Help: "New incidents found in workspaces, by reason.",
	}, []string{"reason"})
	diagnosesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aichat_sre_diagnoses_total",
		Help: "Diagnoses written, by source: llm, or rules (no LLM configured, rate-limited, or failed).",
	}, []string{"source"})
	llmRequestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aichat_sre_llm_requests_total",
		Help: "Requests to the LLM, by result: ok, error, rate_limited (not sent).",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(incidentsTotal, diagnosesTotal, llmRequestsTotal)
}
