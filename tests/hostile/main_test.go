package hostile_test

import (
	"flag"
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/sidecar-lab/grader/tests/internal/testcluster"
)

var testenv env.Environment

// TestMain brings up (or reuses) the cluster for the runtime tests, like tests/grading. With -short it does not:
// `go test -short ./tests/hostile/` runs the static tests alone, on a machine without a cluster, and the runtime
// tests skip.
func TestMain(m *testing.M) {
	flag.Parse()
	testenv = env.New()
	if !testing.Short() {
		testenv.Setup(testcluster.Setup())
	}
	os.Exit(testenv.Run(m))
}
