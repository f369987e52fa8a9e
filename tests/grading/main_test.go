// Package grading_test grades our reference solution and every fixture on the real cluster, through the same
// grader.Grade the CLI uses, and asserts each check's verdict exactly (fixtures/<name>/expected.yaml).
package grading_test

import (
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/sidecar-lab/grader/tests/internal/testcluster"
)

var testenv env.Environment

func TestMain(m *testing.M) {
	testenv = env.NewParallel() // features given to TestInParallel run at once (bounded by the grading slots)
	testenv.Setup(testcluster.Setup())
	os.Exit(testenv.Run(m))
}
