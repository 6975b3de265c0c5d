// Package modeljob is the program a workspace's model Jobs run: it pulls
// base models into the workspace's Ollama and builds assistant models whose
// system prompt is assembled from fabric patterns.
//
// The composition function emits Jobs that run
//
//	model-job pull MODEL [--insecure]
//	model-job create NAME --from BASE --pattern P [--pattern P ...] [--var k=v ...] [--param k=v ...]
//
// Global flags (before or after the command) and their environment:
//
//	--ollama-host      OLLAMA_HOST     Ollama's URL; default 127.0.0.1:11434 as the ollama client
//	--pattern-source   PATTERN_SOURCE  http(s) base URL or absolute directory / file:// URL
//	                                   holding <name>/system.md (create only)
//	--wait-timeout     10m             how long to wait for Ollama to answer
//	--timeout          2h              bound on the pull or create itself
//	--pattern-timeout  30s             bound on fetching one pattern (256 KiB at most)
//	--termination-log  /dev/termination-log
//
// Flags override the environment. The program writes one JSON line, a
// v1alpha1.ModelJobSummary, to the termination log, and exits with
//
//	0  ExitOK           the model is ready (pulled, created, or already up to date)
//	1  ExitInternal     the program itself failed (e.g. cannot write the summary)
//	2  ExitUsage        bad arguments: unknown parameter, invalid name, ...; fix the spec
//	3  ExitUnreachable  Ollama did not answer within --wait-timeout, or went away
//	4  ExitModelFailed  Ollama answered but the model could not be made ready
//	                    (pull failed, pattern or variable missing, base model missing)
package modeljob
