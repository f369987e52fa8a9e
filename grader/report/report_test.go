package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

var reportFiles = []string{ResultsFile, JUnitFile, SummaryFile, ClassroomFile, GradescopeFile}

func TestWriteAllWritesEveryReport(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out", "nested") // created if missing
			s := f.sub()
			require.NoError(t, WriteAll(dir, s))

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
				info, err := e.Info()
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), e.Name())
				assert.NotZero(t, info.Size(), e.Name())
			}
			want := append([]string(nil), reportFiles...)
			sort.Strings(want)
			assert.Equal(t, want, names, "exactly the five reports, no temporary files left")

			// Each file is what the renderer produces.
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				return string(b)
			}
			j, err := JSON(s)
			require.NoError(t, err)
			assert.Equal(t, string(j), read(ResultsFile))
			x, err := JUnitXML(s)
			require.NoError(t, err)
			assert.Equal(t, string(x), read(JUnitFile))
			assert.Equal(t, Markdown(s), read(SummaryFile))
			c, err := Classroom(s)
			require.NoError(t, err)
			assert.Equal(t, c, read(ClassroomFile))
			g, err := Gradescope(s)
			require.NoError(t, err)
			assert.Equal(t, string(g), read(GradescopeFile))
		})
	}
}

func TestWriteAllReplacesPreviousReports(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ResultsFile), []byte(strings.Repeat("stale ", 10000)), 0o600))
	require.NoError(t, WriteAll(dir, withFailures()))
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	require.NoError(t, err)
	assert.True(t, json.Valid(b), "the old file is replaced whole, not overwritten in place")
	info, err := os.Stat(filepath.Join(dir, ResultsFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
}

func TestWriteAllErrors(t *testing.T) {
	t.Run("nil submission", func(t *testing.T) {
		assert.Error(t, WriteAll(t.TempDir(), nil))
	})
	t.Run("dir is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "out")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		assert.Error(t, WriteAll(file, fullMarks()))
	})
	t.Run("target is a directory: no temporary file left", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, JUnitFile), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, JUnitFile, "keep"), nil, 0o644))
		err := WriteAll(dir, fullMarks())
		require.Error(t, err)
		assert.Contains(t, err.Error(), JUnitFile)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			assert.False(t, strings.Contains(e.Name(), ".tmp-"), "temporary file %s left behind", e.Name())
		}
		_, err = os.Stat(filepath.Join(dir, ResultsFile))
		assert.True(t, os.IsNotExist(err), "results.json is written last, so it is absent when an earlier report failed")
	})
}

// TestResultsJSONShape pins results.json against RUBRIC.md "Reports": every key, and every value's JSON type.
func TestResultsJSONShape(t *testing.T) {
	topKeys := []string{"grader_version", "submission", "rubric", "started_at", "duration_s", "status", "error",
		"score", "max_score", "exercises"}
	exerciseKeys := []string{"id", "title", "score", "max_score", "duration_s", "checks"}
	checkKeys := []string{"id", "title", "kind", "status", "points", "max_points", "message", "hint", "evidence"}

	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			s := f.sub()
			b, err := JSON(s)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(b), "{\n  \""), "indented")
			assert.True(t, strings.HasSuffix(string(b), "}\n"))

			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			assert.ElementsMatch(t, topKeys, keys(m))
			for _, k := range []string{"grader_version", "submission", "rubric", "started_at", "status"} {
				assert.IsType(t, "", m[k], k)
			}
			started, err := time.Parse(time.RFC3339, m["started_at"].(string))
			require.NoError(t, err)
			assert.True(t, started.Equal(startedAt))
			assert.Contains(t, []any{"graded", "error"}, m["status"])
			if m["status"] == "error" {
				assert.IsType(t, "", m["error"])
				assert.NotEmpty(t, m["error"])
			} else {
				assert.Nil(t, m["error"], "error is null when graded")
			}
			assertInt(t, m, "score", s.Score)
			assertInt(t, m, "max_score", s.MaxScore)
			assert.IsType(t, float64(0), m["duration_s"])

			exercises, ok := m["exercises"].([]any)
			require.True(t, ok, "exercises is an array")
			require.Len(t, exercises, len(s.Exercises))
			for i, ev := range exercises {
				e := ev.(map[string]any)
				assert.ElementsMatch(t, exerciseKeys, keys(e))
				assert.Equal(t, s.Exercises[i].ID, e["id"])
				assert.IsType(t, "", e["title"])
				assertInt(t, e, "score", s.Exercises[i].Score)
				assertInt(t, e, "max_score", s.Exercises[i].MaxScore)
				assert.IsType(t, float64(0), e["duration_s"])
				checks, ok := e["checks"].([]any)
				require.True(t, ok, "checks is an array")
				require.Len(t, checks, len(s.Exercises[i].Checks))
				for j, cv := range checks {
					c := cv.(map[string]any)
					want := s.Exercises[i].Checks[j]
					assert.ElementsMatch(t, checkKeys, keys(c))
					assert.Equal(t, want.ID, c["id"])
					for _, k := range []string{"title", "message", "hint"} {
						assert.IsType(t, "", c[k], k)
					}
					assert.Contains(t, []any{"static", "runtime"}, c["kind"])
					assert.Contains(t, []any{"passed", "failed", "skipped", "error"}, c["status"])
					assertInt(t, c, "points", want.Points)
					assertInt(t, c, "max_points", want.MaxPoints)
					evidence, ok := c["evidence"].([]any)
					require.True(t, ok, "%s: evidence is always an array, got %#v", want.ID, c["evidence"])
					require.Len(t, evidence, len(want.Evidence))
					for k, item := range evidence {
						assert.Equal(t, want.Evidence[k], item, "evidence survives byte for byte")
					}
				}
			}

			// The JSON decodes back into the same Submission.
			var back result.Submission
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, normalized(s), &back)
		})
	}
}

func TestJSONDoesNotMutateInput(t *testing.T) {
	s := fullMarks()
	_, err := JSON(s)
	require.NoError(t, err)
	assert.Nil(t, s.Exercises[0].Checks[0].Evidence, "the caller's nil evidence stays nil")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func assertInt(t *testing.T, m map[string]any, key string, want int) {
	t.Helper()
	v, ok := m[key].(float64)
	if assert.True(t, ok, "%s is a number, got %#v", key, m[key]) {
		assert.Equal(t, float64(want), v, key)
		assert.Equal(t, v, float64(int64(v)), "%s is an integer", key)
	}
}
