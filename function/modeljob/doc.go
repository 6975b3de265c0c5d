// Package modeljob is the program a workspace's model Jobs run: it pulls
// base models into the workspace's Ollama and builds assistant models whose
// system prompt is assembled from fabric patterns.
//
// The composition function emits Jobs that run
//
//	model-job pull MODEL
//	model-job create NAME --from BASE --pattern P [--pattern P ...] [--var k=v ...] [--param k=v ...]
//
// and reads back the one-line JSON summary (v1alpha1.ModelJobSummary) the
// program writes to its termination log. The exit code tells the Job
// controller (and a human reading `kubectl get pods`) what went wrong; see
// the Exit* constants.
package modeljob
