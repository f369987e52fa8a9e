// Package testcluster gives the e2e suites their cluster: TestMain calls Setup, which creates or reuses the kind
// cluster "sidecar-lab" (or takes SIDECAR_LAB_KUBECONFIG), so `go test ./tests/...` works on a machine where
// `make images` has run. It never skips: without a cluster the suite fails, loudly, with what to do.
package testcluster

import (
	"context"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/sidecar-lab/grader/grader/cluster"
)

// Kubeconfig is the kubeconfig of the cluster Setup brought up.
var Kubeconfig string

// Setup is an env.Func: it makes sure the cluster exists and is healthy and points cfg at it.
func Setup() env.Func {
	return func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		if kc := os.Getenv("SIDECAR_LAB_KUBECONFIG"); kc != "" {
			Kubeconfig = kc
		} else {
			ctx2, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			c, err := cluster.Ensure(ctx2, cluster.WithLog(os.Stderr))
			if err != nil {
				return ctx, fmt.Errorf("the e2e suites need the kind cluster %q and it could not be created or reused: %w\n"+
					"  run 'make cluster' (it installs Docker and builds the images when missing), or set SIDECAR_LAB_KUBECONFIG (CI=%q)",
					cluster.DefaultName, err, os.Getenv("CI"))
			}
			Kubeconfig = c.Kubeconfig
		}
		cfg.WithKubeconfigFile(Kubeconfig)
		if _, err := cfg.NewClient(); err != nil {
			return ctx, fmt.Errorf("client for %s: %w", Kubeconfig, err)
		}
		return ctx, nil
	}
}
