//go:build tools

// Package tools pins sigs.k8s.io/kwok so that its command can be built from
// this module (go build sigs.k8s.io/kwok/cmd/kwok).
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
