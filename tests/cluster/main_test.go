// Package cluster_test is the platform smoke suite: it proves the grading cluster does everything Lab 7 needs
// (shared emptyDir, ConfigMap and subPath mounts, exec with split streams, stdout-only and stderr-only logs, and a
// PVC that keeps its data across pod re-creation) before any submission is graded on it.
package cluster_test

import (
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/sidecar-lab/grader/tests/internal/testcluster"
)

var testenv env.Environment

func TestMain(m *testing.M) {
	testenv = env.NewParallel() // features given to TestInParallel run at once
	testenv.Setup(testcluster.Setup())
	os.Exit(testenv.Run(m))
}
