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

// A fault: what breaks, when, what the error must name, and how the cluster is repaired before the retry.
type fault struct {
	what     string // "the API server goes away in the middle of a grading"
	label    string // reports go to out/test/faults/<label>-fault and <label>-retry
	exercise string // the one exercise graded
	cause    string // the grader's error must contain this
	// before breaks the cluster before the grading starts; during (an option of the grading) breaks it mid-grade.
	before func(ctx context.Context, t *testing.T, cfg *envconf.Config)
	during func(t *testing.T) grader.Option
	// fix repairs what before or during broke; repair() then brings the whole cluster back to health.
	fix  func(ctx context.Context, t *testing.T, cfg *envconf.Config)
	opts []grader.Option
}

var (
	controlPlane = name + "-control-plane"
	worker       = name + "-worker"
)

var faults = []fault{
	{what: "the API server goes away in the middle of a grading", label: "apiserver", exercise: "ex1", cause: "API server",
		during: func(t *testing.T) grader.Option {
			return onceReady(func() { docker(t, "pause", controlPlane) }) // every request now hangs
		},
		fix: func(context.Context, *testing.T, *envconf.Config) { _ = dockerTry("unpause", controlPlane) }},
	{what: "the node running the pods restarts in the middle of a grading", label: "node", exercise: "ex1", cause: worker,
		during: func(t *testing.T) grader.Option {
			return onceReady(func() { docker(t, "restart", "--time", "1", worker) })
		}},
	{what: "a lab image is missing from the node", label: "image", exercise: "ex1", cause: "busybox:1.35",
		before: func(_ context.Context, t *testing.T, _ *envconf.Config) {
			// Only the lab's tag: `crictl rmi` would delete the image under every tag, and the node image tags the
			// same image as the storage provisioner's helper, which ex3 needs once the tag is loaded again.
			docker(t, "exec", worker, "ctr", "--namespace", "k8s.io", "images", "rm", "docker.io/library/busybox:1.35")
		}},
	{what: "the storage provisioner is down, so ex3's PersistentVolumeClaim never binds", label: "claim", exercise: "ex3", cause: "log-storage",
		before: func(ctx context.Context, t *testing.T, cfg *envconf.Config) { scaleProvisioner(ctx, t, cfg, 0) },
		fix:    func(ctx context.Context, t *testing.T, cfg *envconf.Config) { scaleProvisioner(ctx, t, cfg, 1) },
		opts:   []grader.Option{shortDeadlines(30 * time.Second)}},
}

// TestClusterFaults: each fault ends the grading in a grader error naming its cause, with no check failed; once the
// cluster is repaired, a retry grades the reference with full marks.
func TestClusterFaults(t *testing.T) {
	for _, fl := range faults {
		f := features.New(fl.what).
			Assess("the grading ends in a grader error naming the cause, with no check failed", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
				if fl.before != nil {
					fl.before(ctx, t, cfg)
				}
				opts := append([]grader.Option{grader.WithExercises(fl.exercise)}, fl.opts...)
				if fl.during != nil {
					opts = append(opts, fl.during(t))
				}
				if fl.fix != nil {
					defer fl.fix(ctx, t, cfg) // even when an assertion stops this step
				}
				requireClusterError(t, grade(ctx, t, cfg, fl.label+"-fault", reference, opts...), fl.cause)
				return ctx
			}).
			Assess("once the cluster is repaired, a retry grades correctly", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
				repair(ctx, t)
				requireFullMarks(t, grade(ctx, t, cfg, fl.label+"-retry", reference, grader.WithExercises(fl.exercise)))
				return ctx
			}).Feature()
		testenv.Test(t, f)
	}
}

// onceReady injects a fault mid-grade: it runs inject once, as soon as ex1's pod is Ready (the scenario's probes,
// execs and log reads are all still to come).
func onceReady(inject func()) grader.Option {
	var once sync.Once
	return grader.WithProgress(func(_ string, c result.Check) {
		if c.ID == "ex1.ready" && c.Status == result.Passed {
			once.Do(inject)
		}
	})
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
