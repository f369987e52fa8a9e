// Package faults_test breaks a grading cluster on purpose and checks that the grader blames the cluster, never the
// student: an API server that goes away mid-grade, a node container that restarts, a lab image missing from the
// node, a PersistentVolumeClaim that never binds. Each must end in status "error" (exit code 3) with a message
// naming the cause, and a retry once the fault is repaired must grade correctly.
//
// Faults are injected into a disposable two-node kind cluster of its own ("sidecar-lab-faults": a control plane and
// a worker), never into the shared "sidecar-lab" cluster other suites grade on, so the suite also proves grading on
// a multi-node cluster, with only the rights deploy/grader-rbac.yaml grants. The cluster is deleted at the end
// (SIDECAR_LAB_KEEP_FAULTS=1 keeps it for a post-mortem). It needs the images `make images` builds, like every e2e
// suite, and never skips.
package faults_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/sidecar-lab/grader/grader/cluster"
)

// name is the disposable cluster's name; its nodes are the containers name-control-plane and name-worker.
const name = "sidecar-lab-faults"

var (
	testenv    env.Environment
	kubeconfig string
)

func TestMain(m *testing.M) {
	testenv = env.New() // one fault at a time: they break the whole cluster
	dir, err := os.MkdirTemp("", "sidecar-lab-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		// A cluster left by a killed run may still hold a fault: start from a fresh one.
		if cluster.Exists(name) {
			if err := cluster.Delete(cluster.WithName(name), cluster.WithKubeconfig(kubeconfig)); err != nil {
				return ctx, err
			}
		}
		if _, err := ensure(ctx); err != nil {
			return ctx, fmt.Errorf("the fault suite needs a disposable kind cluster %q and could not create it: %w\n"+
				"  it needs Docker and the images of 'make images' (run 'make cluster' once)", name, err)
		}
		cfg.WithKubeconfigFile(kubeconfig)
		_, err := cfg.NewClient()
		return ctx, err
	})
	testenv.Finish(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		defer os.RemoveAll(dir)
		if os.Getenv("SIDECAR_LAB_KEEP_FAULTS") == "1" {
			fmt.Fprintf(os.Stderr, "keeping cluster %q (SIDECAR_LAB_KEEP_FAULTS=1); delete it with: kind delete cluster --name %s\n", name, name)
			return ctx, nil
		}
		return ctx, cluster.Delete(cluster.WithName(name), cluster.WithKubeconfig(kubeconfig))
	})
	os.Exit(testenv.Run(m))
}

// ensure creates the disposable cluster, or brings it back to health after a fault (cluster.Ensure reloads missing
// lab images, restarts stopped nodes and re-routes the pod network).
func ensure(ctx context.Context) (*cluster.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return cluster.Ensure(ctx, cluster.WithName(name), cluster.WithWorkers(1), cluster.WithKubeconfig(kubeconfig), cluster.WithLog(os.Stderr))
}
