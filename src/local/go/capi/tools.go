//go:build tools

// Package tools pins Cluster API's managers so that their commands can be built
// from this module: the core manager, the kubeadm control-plane and bootstrap
// providers, and the Docker infrastructure provider (whose in-memory backend
// simulates machines and workload API servers).
package tools

import (
	_ "sigs.k8s.io/cluster-api"
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm"
	_ "sigs.k8s.io/cluster-api/test/infrastructure/docker"
)
