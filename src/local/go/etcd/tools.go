//go:build tools

// The etcd client tools are built from this module's graph (go build go.etcd.io/etcd/etcdctl/v3 ...): these
// imports keep them in go.mod through go mod tidy.
package main

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
)
