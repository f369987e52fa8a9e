package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

// Gradescope's documented results.json keys ("Autograder Specifications", Output format).
var (
	gradescopeTopKeys = []string{"score", "execution_time", "output", "output_format", "test_output_format",
		"test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
	gradescopeTestKeys = []string{"score", "max_score", "status", "name", "name_format", "number", "output",
		"output_format", "tags", "visibility", "extra_data"}
	gradescopeVisibility = []any{"hidden", "after_due_date", "after_published", "visible"}
	gradescopeFormats    = []any{"text", "simple_format", "html", "md", "ansi"}
)

// validateGradescope checks a results.json against the spec: only documented keys, with their types and values;
// a score at the top or on every test; test status "passed" or "failed".
func validateGradescope(t *testing.T, m map[string]any) {
	t.Helper()
	for k := range m {
		assert.Contains(t, gradescopeTopKeys, k, "top-level key %q is documented", k)
	}
	if _, ok := m["score"]; ok {
		assert.IsType(t, float64(0), m["score"])
	}
	for _, k := range []string{"output_format", "test_output_format", "test_name_format"} {
		if v, ok := m[k]; ok {
			assert.Contains(t, gradescopeFormats, v, k)
		}
	}
	for _, k := range []string{"visibility", "stdout_visibility"} {
		if v, ok := m[k]; ok {
			assert.Contains(t, gradescopeVisibility, v, k)
		}
	}
	if v, ok := m["extra_data"]; ok {
		assert.IsType(t, map[string]any{}, v)
	}
	tests, ok := m["tests"].([]any)
	require.True(t, ok || m["score"] != nil, "tests is required without a top-level score")
	for _, tv := range tests {
		tc, ok := tv.(map[string]any)
		require.True(t, ok)
		for k := range tc {
			assert.Contains(t, gradescopeTestKeys, k, "test key %q is documented", k)
		}
		if m["score"] == nil {
			assert.Contains(t, tc, "score", "score on every test without a top-level score")
		}
		for _, k := range []string{"score", "max_score"} {
			if v, ok := tc[k]; ok {
				assert.IsType(t, float64(0), v, k)
			}
		}
		for _, k := range []string{"name", "number", "output"} {
			if v, ok := tc[k]; ok {
				assert.IsType(t, "", v, k)
			}
		}
		if v, ok := tc["status"]; ok {
			assert.Contains(t, []any{"passed", "failed"}, v)
		}
		if v, ok := tc["visibility"]; ok {
			assert.Contains(t, gradescopeVisibility, v)
		}
		if v, ok := tc["tags"]; ok {
			for _, tag := range v.([]any) {
				assert.IsType(t, "", tag)
			}
		}
	}
}

func TestGradescopeResults(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			s := f.sub()
			b, err := Gradescope(s)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			validateGradescope(t, m)

			assertInt(t, m, "score", s.Score)
			assert.Equal(t, "visible", m["visibility"])
			assert.Equal(t, "text", m["output_format"], "plain text, so evidence with < renders as written")
			assert.Contains(t, m["output"], "Score: ")
			extra := m["extra_data"].(map[string]any)
			assertInt(t, extra, "max_score", s.MaxScore)
			assert.Equal(t, s.Status, extra["status"])

			tests := m["tests"].([]any)
			var all []result.Check
			for _, e := range s.Exercises {
				all = append(all, e.Checks...)
			}
			require.Len(t, tests, len(all), "one test per check")
			sum, sumMax := 0.0, 0.0
			for i, tv := range tests {
				tc := tv.(map[string]any)
				c := all[i]
				assert.Equal(t, c.ID+" "+c.Title, tc["name"])
				sum += tc["score"].(float64)
				sumMax += tc["max_score"].(float64)
				switch c.Status {
				case result.Passed:
					assert.Equal(t, "passed", tc["status"])
					assertInt(t, tc, "max_score", c.MaxPoints)
					assertInt(t, tc, "score", c.MaxPoints)
				case result.Failed, result.Error:
					assert.Equal(t, "failed", tc["status"])
					assertInt(t, tc, "max_score", c.MaxPoints)
					assertInt(t, tc, "score", 0)
					assert.Contains(t, tc["output"], c.Message)
					if c.Hint != "" {
						assert.Contains(t, tc["output"], "Hint: "+c.Hint)
					}
					for _, ev := range c.Evidence {
						head, _, _ := strings.Cut(ev, "\n")
						assert.Contains(t, tc["output"], head, "evidence is in the output")
					}
				case result.Skipped:
					assertInt(t, tc, "max_score", 0)
					assertInt(t, tc, "score", 0)
					assert.Contains(t, tc["output"], "Skipped")
					assert.Contains(t, tc["output"], c.Message, "says why")
				}
			}
			assert.Equal(t, float64(s.Score), sum, "the top-level score agrees with the tests")
			assert.Equal(t, float64(s.MaxScore), sumMax, "skipped checks' points leave the maximum")
		})
	}
}

func TestGradescopeErrorSaysNoScore(t *testing.T) {
	r := GradescopeReport(withError())
	assert.Contains(t, r.Output, "should not be recorded")
	assert.Contains(t, r.Output, "ex3.ready: apply: the server could not find")
	assert.True(t, strings.HasPrefix(r.Tests[1].Output, "The grader or the cluster failed"))
}
