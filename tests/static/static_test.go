// Package static_test grades the reference solution and every fixture with static checks only (no cluster): each
// static check's verdict must be exactly what the fixture's expected.yaml says, and static grading must be fast.
package static_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/result"
	"github.com/sidecar-lab/grader/tests/internal/expect"
)

func TestReferencePassesEveryStaticCheck(t *testing.T) {
	s := grader.Grade(context.Background(), "../../reference", grader.WithStaticOnly())
	require.Equal(t, result.StatusGraded, s.Status)
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			if c.Kind == result.Static {
				assert.Equal(t, result.Passed, c.Status, "%s: %s", c.ID, c.Message)
			} else {
				assert.Equal(t, result.Skipped, c.Status, "%s: runtime checks are skipped in a static-only run", c.ID)
			}
		}
	}
}

func TestFixturesStaticVerdicts(t *testing.T) {
	fixtures, err := expect.Load("../../fixtures")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(fixtures), 12, "RUBRIC.md's fixture set has at least 12 submissions")
	for _, f := range fixtures {
		t.Run(f.Name, func(t *testing.T) {
			s := grader.Grade(context.Background(), f.Dir, grader.WithStaticOnly())
			require.Equal(t, result.StatusGraded, s.Status, "a bad submission is the student's failure, never a grader error")
			assert.Empty(t, f.Mismatches(s, result.Static), "static verdicts of %s (%s)", f.Name, f.Description)
		})
	}
}

func TestStaticGradingIsFast(t *testing.T) {
	// RUBRIC/issue target: all static checks of a submission < 100 ms. Take the median of 7 runs.
	var ds []time.Duration
	for i := 0; i < 7; i++ {
		t0 := time.Now()
		grader.Grade(context.Background(), "../../reference", grader.WithStaticOnly())
		ds = append(ds, time.Since(t0))
	}
	med := median(ds)
	t.Logf("static grading of reference/: median %s over %d runs", med, len(ds))
	assert.Less(t, med, 100*time.Millisecond)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
