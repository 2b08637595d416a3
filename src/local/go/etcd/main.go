// Command etcd runs the etcd server from its Go module at the version the
// generated go.mod requires (see src/local/build.ts).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
