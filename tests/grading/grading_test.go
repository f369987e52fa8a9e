package grading_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
	"github.com/sidecar-lab/grader/tests/internal/expect"
	"github.com/sidecar-lab/grader/tests/internal/testcluster"
)

// parallel bounds how many submissions are graded at once: the single 2-core kind node has about 1 CPU of
// requests left for pods, and a submission's three pods request ~0.4 CPU.
const parallel = 2

var slots = make(chan struct{}, parallel)

// artifacts is where every graded submission's reports are written (diagnostics to read when a test fails).
func artifacts(name string) string {
	base := os.Getenv("GRADER_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join("..", "..", "out", "test")
	}
	return filepath.Join(base, name)
}

// gradeOnCluster grades dir on the suite's cluster and writes its reports to the artifacts folder.
func gradeOnCluster(t *testing.T, name, dir string) *result.Submission {
	t.Helper()
	slots <- struct{}{}
	defer func() { <-slots }()
	kc, err := grader.WithKubeconfig(testcluster.Kubeconfig, "")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	s := grader.Grade(ctx, dir, kc)
	out := artifacts(name)
	require.NoError(t, report.WriteAll(out, s))
	t.Logf("%s graded in %s: %d/%d, status %s; reports in %s", name, time.Since(t0).Round(time.Second), s.Score, s.MaxScore, s.Status, out)
	return s
}

func describe(s *result.Submission) string {
	var b strings.Builder
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			fmt.Fprintf(&b, "  %-22s %-7s %s\n", c.ID, c.Status, firstLine(c.Message))
		}
	}
	return b.String()
}

func TestReferenceScoresFullMarks(t *testing.T) {
	f := features.New("the reference solution").
		Assess("scores full marks on every check, advisory ones included", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			s := gradeOnCluster(t, "reference", "../../reference")
			require.Equal(t, result.StatusGraded, s.Status, "grader error: %v\n%s", s.Error, describe(s))
			for _, e := range s.Exercises {
				for _, c := range e.Checks {
					assert.Equal(t, result.Passed, c.Status, "%s: %s\nhint: %s\nevidence:\n%s", c.ID, c.Message, c.Hint, strings.Join(c.Evidence, "\n"))
				}
			}
			assert.Equal(t, 52, s.MaxScore, "RUBRIC.md's maxima: ex1 14, ex2 20, ex3 18")
			assert.Equal(t, s.MaxScore, s.Score)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestFixturesGetTheirExpectedVerdicts(t *testing.T) {
	fixtures, err := expect.Load("../../fixtures")
	require.NoError(t, err)
	var feats []features.Feature
	for _, fx := range fixtures {
		feats = append(feats, features.New("fixture "+fx.Name).
			Assess("every check has exactly its expected verdict", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				s := gradeOnCluster(t, fx.Name, fx.Dir)
				require.Equal(t, result.StatusGraded, s.Status, "a broken submission must be graded, not end in a grader error: %v", s.Error)
				mm := fx.Mismatches(s)
				assert.Empty(t, mm, "%s (%s):\n%s", fx.Name, fx.Description, describe(s))
				for _, e := range s.Exercises {
					for _, c := range e.Checks {
						if c.Status == result.Failed {
							assert.NotEmpty(t, c.Message, "%s: a failed check says what was expected and seen", c.ID)
							assert.NotEmpty(t, c.Hint+strings.Join(c.Evidence, ""), "%s: a failed check carries a hint or evidence", c.ID)
						}
					}
				}
				return ctx
			}).Feature())
	}
	testenv.TestInParallel(t, feats...)
}

// BenchmarkGradeReference grades reference/ b.N times on the warm cluster and prints the median wall time per
// exercise and in total (make bench runs it 5 times).
func BenchmarkGradeReference(b *testing.B) {
	kc, err := grader.WithKubeconfig(testcluster.Kubeconfig, "")
	require.NoError(b, err)
	per := map[string][]float64{}
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s := grader.Grade(context.Background(), "../../reference", kc)
		per["total"] = append(per["total"], time.Since(t0).Seconds())
		for _, e := range s.Exercises {
			per[e.ID] = append(per[e.ID], e.DurationS)
		}
		if s.Score != s.MaxScore || s.Status != result.StatusGraded {
			b.Errorf("run %d: %d/%d, status %s:\n%s", i+1, s.Score, s.MaxScore, s.Status, describe(s))
		}
	}
	var keys []string
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var mu sync.Mutex
	mu.Lock()
	defer mu.Unlock()
	for _, k := range keys {
		v := append([]float64{}, per[k]...)
		sort.Float64s(v)
		fmt.Printf("median %-6s %6.1f s over %d runs (min %.1f, max %.1f)\n", k, v[len(v)/2], len(v), v[0], v[len(v)-1])
		b.ReportMetric(v[len(v)/2], k+"-median-s")
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
