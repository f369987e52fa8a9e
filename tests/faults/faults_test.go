package faults_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/result"
)

// reference is the lab's reference solution: full marks on a healthy cluster.
const reference = "../../reference"

func TestGradingOnTwoNodesWithTheGradersRBAC(t *testing.T) {
	f := features.New("a two-node cluster, graded with only deploy/grader-rbac.yaml's rights").
		Assess("the reference scores full marks", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			run := "faults-rbac-" + time.Now().Format("150405")
			s := grade(ctx, t, cfg, "rbac-reference", reference, grader.WithKeep(true), grader.WithRunID(run))
			requireFullMarks(t, s)
			nodes := scheduledNodes(ctx, t, cfg, run)
			require.NotEmpty(t, nodes, "no Scheduled event in the grading's namespaces")
			for pod, node := range nodes {
				assert.Equal(t, name+"-worker", node, "%s ran on %s: on a two-node kind cluster the control plane is tainted, so every lab pod runs on the worker", pod, node)
			}
			deleteRun(ctx, t, cfg, run)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestAPIServerGoneMidGrade(t *testing.T) {
	controlPlane := name + "-control-plane"
	f := features.New("the API server goes away in the middle of a grading").
		Assess("the grading ends in a grader error naming the API server, with no check failed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var once sync.Once
			s := grade(ctx, t, cfg, "apiserver-paused", reference, grader.WithExercises("ex1"),
				grader.WithProgress(func(ex string, c result.Check) {
					if c.ID == "ex1.ready" && c.Status == result.Passed {
						once.Do(func() { docker(t, "pause", controlPlane) }) // every request now hangs
					}
				}))
			defer func() { _ = dockerTry("unpause", controlPlane) }()
			requireClusterError(t, s, "API server")
			return ctx
		}).
		Assess("once it is back, a retry grades correctly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			_ = dockerTry("unpause", controlPlane) // when the first step stopped before its deferred unpause
			repair(ctx, t)
			requireFullMarks(t, grade(ctx, t, cfg, "apiserver-retry", reference, grader.WithExercises("ex1")))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestNodeRestartMidGrade(t *testing.T) {
	worker := name + "-worker"
	f := features.New("the node running the pods restarts in the middle of a grading").
		Assess("the grading ends in a grader error naming the node, with no check failed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var once sync.Once
			s := grade(ctx, t, cfg, "node-restarted", reference, grader.WithExercises("ex1"),
				grader.WithProgress(func(ex string, c result.Check) {
					if c.ID == "ex1.ready" && c.Status == result.Passed {
						once.Do(func() { docker(t, "restart", "--time", "1", worker) })
					}
				}))
			requireClusterError(t, s, worker)
			return ctx
		}).
		Assess("once the node is back, a retry grades correctly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			repair(ctx, t)
			requireFullMarks(t, grade(ctx, t, cfg, "node-retry", reference, grader.WithExercises("ex1")))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestImageMissingFromTheNode(t *testing.T) {
	worker := name + "-worker"
	f := features.New("a lab image is missing from the node").
		Assess("the grading ends in a grader error naming the image, with no check failed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Only the lab's tag: `crictl rmi` would delete the image under every tag, and the node image tags the
			// same image as the storage provisioner's helper, which ex3 needs once the tag is loaded again.
			docker(t, "exec", worker, "ctr", "--namespace", "k8s.io", "images", "rm", "docker.io/library/busybox:1.35")
			s := grade(ctx, t, cfg, "image-missing", reference, grader.WithExercises("ex1"))
			requireClusterError(t, s, "busybox:1.35")
			return ctx
		}).
		Assess("once the image is loaded again, a retry grades correctly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			repair(ctx, t)
			requireFullMarks(t, grade(ctx, t, cfg, "image-retry", reference, grader.WithExercises("ex1")))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestClaimThatNeverBinds(t *testing.T) {
	f := features.New("the cluster's storage provisioner is down, so ex3's PersistentVolumeClaim never binds").
		Assess("the grading ends in a grader error naming the claim, with no check failed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			scaleProvisioner(ctx, t, cfg, 0)
			s := grade(ctx, t, cfg, "claim-unbound", reference, grader.WithExercises("ex3"), shortDeadlines(t))
			requireClusterError(t, s, "log-storage")
			return ctx
		}).
		Assess("once the provisioner is back, a retry grades correctly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			scaleProvisioner(ctx, t, cfg, 1)
			requireFullMarks(t, grade(ctx, t, cfg, "claim-retry", reference, grader.WithExercises("ex3")))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// requireClusterError asserts that s ended as a grader error (exit code 3) whose message names cause, and that no
// check was failed: a broken cluster must never cost the student a point.
func requireClusterError(t *testing.T, s *result.Submission, cause string) {
	t.Helper()
	require.Equal(t, result.StatusError, s.Status, "a cluster fault must end as a grader error, not a score:\n%s", describe(s))
	require.NotNil(t, s.Error)
	assert.Contains(t, *s.Error, cause, "the error must name the cause")
	assert.Equal(t, 3, exitCode(s))
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			assert.NotEqual(t, result.Failed, c.Status, "%s failed during a cluster fault: %s", c.ID, c.Message)
		}
	}
}

// requireFullMarks asserts that s was graded with every check passed.
func requireFullMarks(t *testing.T, s *result.Submission) {
	t.Helper()
	require.Equal(t, result.StatusGraded, s.Status, "grader error: %v\n%s", s.Error, describe(s))
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			assert.Equal(t, result.Passed, c.Status, "%s: %s\nevidence:\n%s", c.ID, c.Message, strings.Join(c.Evidence, "\n"))
		}
	}
	assert.Equal(t, s.MaxScore, s.Score)
}
