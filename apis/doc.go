// Package apis holds the Go types of the AIChatWorkspace API (v1alpha1) and
// of the composition function's input (input/v1beta1), and the generator that
// turns them into the XRD and the input CRD.
package apis
