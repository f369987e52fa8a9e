package report

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

// TestClassroomResult pins classroom.b64 to what classroom-resources/autograding-grading-reporter reads:
// Buffer.from(env, "base64") → JSON with version, status ("pass"/"fail"/"error"; "fail" and "error" fail the job),
// max_score (the denominator it reports) and tests[] (name, status, score summed for the points, message, line_no
// which must be 0 or the console prints " - line N", test_code printed when non-empty).
func TestClassroomResult(t *testing.T) {
	tests := []struct {
		name       string
		sub        *result.Submission
		wantStatus string
		wantTests  map[string]string // test name prefix (check ID) → status
	}{
		{"full marks pass", fullMarks(), "pass", map[string]string{
			"ex1.manifest": "pass", "ex1.ready": "pass", "ex1.processed": "pass", "ex2.routes": "pass", "ex2.api-content-type": "pass",
		}},
		{"failures fail, skipped left out", withFailures(), "fail", map[string]string{
			"ex1.manifest": "pass", "ex1.ready": "pass", "ex1.processed": "fail", "adv.probes": "fail",
		}},
		{"grader error", withError(), "error", map[string]string{
			"ex3.manifest": "pass", "ex3.ready": "error", "ex3.containers": "fail",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Classroom(tt.sub)
			require.NoError(t, err)
			assert.NotContains(t, enc, "\n", "one line, no newline")
			raw, err := base64.StdEncoding.Strict().DecodeString(enc)
			require.NoError(t, err, "standard base64")

			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			assert.ElementsMatch(t, []string{"version", "status", "max_score", "tests"}, keys(m))
			assert.Equal(t, float64(1), m["version"])
			assert.Equal(t, tt.wantStatus, m["status"])
			assertInt(t, m, "max_score", tt.sub.MaxScore)

			list, ok := m["tests"].([]any)
			require.True(t, ok)
			require.Len(t, list, len(tt.wantTests))
			sum := 0.0
			for _, tv := range list {
				tc := tv.(map[string]any)
				assert.ElementsMatch(t, []string{"name", "status", "score", "max_score", "message", "test_code", "filename", "line_no", "execution_time"}, keys(tc))
				name := tc["name"].(string)
				id, _, _ := strings.Cut(name, " ")
				c := tt.sub.Find(id)
				require.NotNil(t, c, "test %q names a check", name)
				assert.Equal(t, c.ID+" "+c.Title, name)
				assert.Equal(t, tt.wantTests[id], tc["status"], id)
				assertInt(t, tc, "score", c.Points)
				assertInt(t, tc, "max_score", c.MaxPoints)
				assert.True(t, strings.HasPrefix(tc["message"].(string), c.Message), "message starts with the check's message")
				if c.Hint != "" {
					assert.Contains(t, tc["message"], "Hint: "+c.Hint)
				}
				assert.Equal(t, float64(0), tc["line_no"], "line_no is the number 0")
				assert.Equal(t, "0s", tc["execution_time"])
				assert.Equal(t, "", tc["test_code"])
				sum += tc["score"].(float64)
			}
			assert.Equal(t, float64(tt.sub.Score), sum, "the reporter's points are the sum of the tests' scores")
		})
	}
}

func TestClassroomNastyMessageRoundTrips(t *testing.T) {
	r := ClassroomReport(withFailures())
	enc, err := Classroom(withFailures())
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	var back ClassroomResult
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, r, back)
	assert.Contains(t, back.Tests[2].Message, "saw 3 | first missing: \"GET /?probe=p4\"\nlast seen <none>")
}
