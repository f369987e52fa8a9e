package github_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// TestRecordedResultsAreConsistent: the hand-written results.json files follow the result types, and their totals
// are what result.Tally computes from their checks (so the adapters are tested on coherent input).
func TestRecordedResultsAreConsistent(t *testing.T) {
	for _, c := range recordedCases {
		t.Run(c.Name, func(t *testing.T) {
			s := loadRecorded(t, c.Name)
			assert.Equal(t, c.WantScore, s.Score)
			assert.Equal(t, c.WantMax, s.MaxScore)

			tallied := *s
			tallied.Exercises = append([]result.Exercise(nil), s.Exercises...)
			for i := range tallied.Exercises {
				tallied.Exercises[i].Checks = append([]result.Check(nil), s.Exercises[i].Checks...)
			}
			tallied.Status, tallied.Error = "", nil
			tallied.Tally()
			assert.Equal(t, s.Score, tallied.Score, "score is the sum of passed checks' points")
			assert.Equal(t, s.MaxScore, tallied.MaxScore, "maximum is the sum of non-skipped checks' points")
			assert.Equal(t, s.Status, tallied.Status, "status follows the checks (error iff a check is in error)")
			for i, e := range s.Exercises {
				assert.Equal(t, e.Score, tallied.Exercises[i].Score, e.ID)
				assert.Equal(t, e.MaxScore, tallied.Exercises[i].MaxScore, e.ID)
			}
			assert.Equal(t, c.WantExit, report.ExitCode(s, 0))
		})
	}
}

// TestExitCodes: the grader's exit code per recorded case, and --pass-score below the maximum.
func TestExitCodes(t *testing.T) {
	lab := loadRecorded(t, "lab-as-written") // 49/52
	assert.Equal(t, report.ExitFail, report.ExitCode(lab, 0), "below full marks fails without a pass score")
	assert.Equal(t, report.ExitPass, report.ExitCode(lab, 45), "49 >= 45 passes")
	assert.Equal(t, report.ExitFail, report.ExitCode(lab, 50), "49 < 50 fails")
	assert.Equal(t, report.ExitError, report.ExitCode(loadRecorded(t, "grader-error"), 1),
		"a grader failure is exit 3 whatever the pass score")
}

// classroomTest is a test of the Classroom result as the grading reporter reads it.
type classroomTest struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Score    *float64 `json:"score"`
	Message  string   `json:"message"`
	LineNo   *int     `json:"line_no"`
	TestCode string   `json:"test_code"`
}

// classroomResult is the Classroom result as the grading reporter reads it.
type classroomResult struct {
	Version  int             `json:"version"`
	Status   string          `json:"status"`
	MaxScore float64         `json:"max_score"`
	Tests    []classroomTest `json:"tests"`
}

// reporterVerdict simulates classroom-resources/autograding-grading-reporter@v1 (src/main.js,
// src/notify-classroom.js) on one runner's result: the "Autograding report" notice it posts for Classroom (points are
// the sum of tests[].score, the maximum is max_score; nothing is posted when max_score is 0) and whether it fails the
// job ("Some tests failed." on status fail, "Some tests errored." on error).
func reporterVerdict(r classroomResult) (notice string, failed string) {
	total := 0.0
	for _, tc := range r.Tests {
		total += *tc.Score
	}
	if r.MaxScore != 0 {
		b, _ := json.Marshal(map[string]float64{"totalPoints": total, "maxPoints": r.MaxScore})
		notice = string(b)
	}
	switch r.Status {
	case "fail":
		failed = "Some tests failed."
	case "error":
		failed = "Some tests errored."
	}
	return notice, failed
}

// TestClassroomResult: classroom.b64 of each recorded case decodes to the JSON the grading reporter expects, and the
// reporter would record the grader's score and fail exactly when the grader does not exit 0.
func TestClassroomResult(t *testing.T) {
	for _, c := range recordedCases {
		t.Run(c.Name, func(t *testing.T) {
			s := loadRecorded(t, c.Name)
			raw, err := os.ReadFile(filepath.Join(writeReports(t, c.Name), report.ClassroomFile))
			require.NoError(t, err)

			// One line of standard base64, no newline: it goes into $GITHUB_OUTPUT as result=<value> and from there
			// into one environment variable of the reporter (Linux caps one variable at 128 KiB).
			assert.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9+/]+=*$`), string(raw))
			assert.Less(t, len(raw), 120_000, "fits in one environment variable")
			decoded, err := base64.StdEncoding.DecodeString(string(raw))
			require.NoError(t, err)

			var generic map[string]any
			require.NoError(t, json.Unmarshal(decoded, &generic))
			var r classroomResult
			require.NoError(t, json.Unmarshal(decoded, &r))

			assert.Equal(t, 1, r.Version)
			assert.Equal(t, c.WantClassroom, r.Status)
			assert.Equal(t, float64(s.MaxScore), r.MaxScore)

			// One test per non-skipped check, in report order, each scored, with line_no 0 (the reporter prints
			// " - line <line_no>" unless it is exactly 0, so a missing line_no would print "line undefined").
			var want []result.Check
			for _, e := range s.Exercises {
				for _, ch := range e.Checks {
					if ch.Status != result.Skipped {
						want = append(want, ch)
					}
				}
			}
			require.Len(t, r.Tests, len(want))
			statusOf := map[result.Status]string{result.Passed: "pass", result.Failed: "fail", result.Error: "error"}
			for i, tc := range r.Tests {
				ch := want[i]
				assert.True(t, strings.HasPrefix(tc.Name, ch.ID), "test %d is named after %s: %q", i, ch.ID, tc.Name)
				assert.Equal(t, statusOf[ch.Status], tc.Status, ch.ID)
				require.NotNil(t, tc.Score, "%s has a score (the reporter adds them up)", ch.ID)
				assert.Equal(t, float64(ch.Points), *tc.Score, ch.ID)
				require.NotNil(t, tc.LineNo, "%s has line_no", ch.ID)
				assert.Zero(t, *tc.LineNo, ch.ID)
				if ch.Status != result.Passed {
					assert.Contains(t, tc.Message, ch.Message, "%s says what went wrong", ch.ID)
					if ch.Hint != "" {
						assert.Contains(t, tc.Message, ch.Hint, "%s carries its hint", ch.ID)
					}
				}
			}

			notice, failed := reporterVerdict(r)
			assert.JSONEq(t, fmt.Sprintf(`{"totalPoints":%d,"maxPoints":%d}`, s.Score, s.MaxScore), notice,
				"the reporter records the grader's score")
			switch c.WantExit {
			case report.ExitPass:
				assert.Empty(t, failed)
			case report.ExitFail:
				assert.Equal(t, "Some tests failed.", failed)
			case report.ExitError:
				// The reporter would record this score: the grading action leaves `result` empty on exit 3 so that
				// the reporter step does not run (TestActionRunOutputs).
				assert.Equal(t, "Some tests errored.", failed)
			}
		})
	}
}

// gradescopeTopKeys and gradescopeTestKeys are the fields of Gradescope's results.json ("Autograder Specifications",
// Output format); anything else is a typo Gradescope would ignore.
var (
	gradescopeTopKeys = setOf("score", "execution_time", "output", "output_format", "test_output_format",
		"test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard")
	gradescopeTestKeys = setOf("score", "max_score", "status", "name", "name_format", "number", "output",
		"output_format", "tags", "visibility", "extra_data")
	gradescopeVisibility = setOf("hidden", "after_due_date", "after_published", "visible")
	gradescopeFormats    = setOf("text", "html", "simple_format", "md", "ansi")
	gradescopeStatuses   = setOf("passed", "failed")
)

// validateGradescope checks data against Gradescope's results.json specification and returns the problems found:
// an object; a numeric top-level score or a score on every test; only documented keys; typed values; known
// visibility, format and status values; 0 <= score <= max_score on each test.
func validateGradescope(data []byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	number := func(v any) (float64, bool) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, false
		}
		f, err := n.Float64()
		return f, err == nil
	}
	checkString := func(where, key string, obj map[string]any, allowed map[string]bool) {
		v, ok := obj[key]
		if !ok {
			return
		}
		s, isString := v.(string)
		switch {
		case !isString:
			add("%s: %s is not a string", where, key)
		case allowed != nil && !allowed[s]:
			add("%s: %s %q is not one of %v", where, key, s, sortedKeys(allowed))
		}
	}
	for k := range top {
		if !gradescopeTopKeys[k] {
			add("top level: unknown key %q", k)
		}
	}
	_, hasScore := top["score"]
	if hasScore {
		if _, ok := number(top["score"]); !ok {
			add("top level: score is not a number")
		}
	}
	if v, ok := top["execution_time"]; ok {
		if _, isNum := number(v); !isNum {
			add("top level: execution_time is not a number")
		}
	}
	checkString("top level", "output", top, nil)
	checkString("top level", "visibility", top, gradescopeVisibility)
	checkString("top level", "stdout_visibility", top, gradescopeVisibility)
	for _, k := range []string{"output_format", "test_output_format", "test_name_format"} {
		checkString("top level", k, top, gradescopeFormats)
	}
	if v, ok := top["extra_data"]; ok {
		if _, isObj := v.(map[string]any); !isObj {
			add("top level: extra_data is not an object")
		}
	}
	tests, _ := top["tests"].([]any)
	if _, ok := top["tests"]; ok && tests == nil {
		if _, isList := top["tests"].([]any); !isList {
			add("top level: tests is not a list")
		}
	}
	for i, raw := range tests {
		where := fmt.Sprintf("tests[%d]", i)
		tc, ok := raw.(map[string]any)
		if !ok {
			add("%s: not an object", where)
			continue
		}
		for k := range tc {
			if !gradescopeTestKeys[k] {
				add("%s: unknown key %q", where, k)
			}
		}
		score, hasTestScore := number(tc["score"])
		if _, present := tc["score"]; present && !hasTestScore {
			add("%s: score is not a number", where)
		}
		if !hasScore && !hasTestScore {
			add("%s: no score, and no top-level score", where)
		}
		if v, present := tc["max_score"]; present {
			maxScore, isNum := number(v)
			switch {
			case !isNum:
				add("%s: max_score is not a number", where)
			case hasTestScore && (score < 0 || score > maxScore):
				add("%s: score %v outside 0..max_score %v", where, score, maxScore)
			}
		}
		checkString(where, "name", tc, nil)
		checkString(where, "number", tc, nil)
		checkString(where, "output", tc, nil)
		checkString(where, "status", tc, gradescopeStatuses)
		checkString(where, "visibility", tc, gradescopeVisibility)
		checkString(where, "name_format", tc, gradescopeFormats)
		checkString(where, "output_format", tc, gradescopeFormats)
		if v, present := tc["tags"]; present {
			list, isList := v.([]any)
			if !isList {
				add("%s: tags is not a list", where)
			}
			for _, tag := range list {
				if _, isString := tag.(string); !isString {
					add("%s: a tag is not a string", where)
				}
			}
		}
	}
	if !hasScore && len(tests) == 0 {
		add("top level: neither a score nor tests")
	}
	return problems
}

// TestValidateGradescopeCatchesProblems: the validator is not vacuous.
func TestValidateGradescopeCatchesProblems(t *testing.T) {
	assert.Empty(t, validateGradescope([]byte(`{"score": 3, "tests": [{"name": "a", "score": 1, "max_score": 2, "status": "failed"}]}`)))
	assert.Empty(t, validateGradescope([]byte(`{"tests": [{"name": "a", "score": 1}]}`)), "scores on tests only")
	for doc, want := range map[string]string{
		`[1]`:                                  "not a JSON object",
		`{"score": "3"}`:                       "score is not a number",
		`{"scores": 3}`:                        `unknown key "scores"`,
		`{"score": 1, "visibility": "public"}`: `visibility "public"`,
		`{"score": 1, "output_format": "markdown"}`:             `output_format "markdown"`,
		`{"tests": [{"name": "a"}]}`:                            "no score, and no top-level score",
		`{"score": 1, "tests": [{"status": "error"}]}`:          `status "error"`,
		`{"score": 1, "tests": [{"score": 3, "max_score": 2}]}`: "outside 0..max_score",
		`{"score": 1, "tests": [{"score": 1, "maxscore": 2}]}`:  `unknown key "maxscore"`,
		`{"output": "x"}`: "neither a score nor tests",
	} {
		assert.Contains(t, strings.Join(validateGradescope([]byte(doc)), "; "), want, doc)
	}
}

// TestGradescopeResult: gradescope.json of each recorded case is a valid Gradescope results.json whose score and
// test maxima match the grader's.
func TestGradescopeResult(t *testing.T) {
	for _, c := range recordedCases {
		t.Run(c.Name, func(t *testing.T) {
			s := loadRecorded(t, c.Name)
			data, err := os.ReadFile(filepath.Join(writeReports(t, c.Name), report.GradescopeFile))
			require.NoError(t, err)
			assert.Empty(t, validateGradescope(data))

			var g struct {
				Score float64 `json:"score"`
				Tests []struct {
					Name     string  `json:"name"`
					Score    float64 `json:"score"`
					MaxScore float64 `json:"max_score"`
					Status   string  `json:"status"`
					Output   string  `json:"output"`
				} `json:"tests"`
			}
			require.NoError(t, json.Unmarshal(data, &g))
			assert.Equal(t, float64(s.Score), g.Score)
			var sum, maxSum float64
			byID := map[string]result.Check{}
			for _, e := range s.Exercises {
				for _, ch := range e.Checks {
					byID[ch.ID] = ch
				}
			}
			require.Len(t, g.Tests, len(byID), "one test per check")
			for _, tc := range g.Tests {
				sum += tc.Score
				maxSum += tc.MaxScore
				id, _, _ := strings.Cut(tc.Name, " ")
				ch, ok := byID[id]
				require.True(t, ok, "test %q is named after a check", tc.Name)
				if ch.Status == result.Failed {
					assert.Equal(t, "failed", tc.Status, id)
					assert.Contains(t, tc.Output, ch.Message, id)
				}
			}
			assert.Equal(t, g.Score, sum, "the tests add up to the score")
			assert.Equal(t, float64(s.MaxScore), maxSum, "the tests' maxima add up to the maximum (skipped checks count 0)")
		})
	}
}

// TestAnnotations: one ::error line per failed or error check, titled with the check ID; newlines, carriage returns
// and % are escaped as GitHub requires, so the runner decodes each line back to the message and hint exactly.
func TestAnnotations(t *testing.T) {
	sawEscapes := false
	for _, c := range recordedCases {
		t.Run(c.Name, func(t *testing.T) {
			s := loadRecorded(t, c.Name)
			lines := report.Annotations(s)
			var failing []result.Check
			for _, e := range s.Exercises {
				for _, ch := range e.Checks {
					if ch.Status == result.Failed || ch.Status == result.Error {
						failing = append(failing, ch)
					}
				}
			}
			require.Len(t, failing, c.WantFailedCount)
			require.Len(t, lines, min(len(failing), report.MaxAnnotations))
			if len(failing) > report.MaxAnnotations {
				// GitHub shows 10 annotations per step: the last one names the checks left out.
				last, err := parseAnnotation(lines[len(lines)-1])
				require.NoError(t, err)
				left := failing[report.MaxAnnotations-1:]
				assert.Equal(t, fmt.Sprintf("%d more checks", len(left)), last.Properties["title"])
				for _, ch := range left {
					assert.Contains(t, last.Data, ch.ID)
				}
				lines = lines[:len(lines)-1]
			}
			for i, line := range lines {
				ch := failing[i]
				assert.NotContains(t, line, "\n", ch.ID)
				assert.NotContains(t, line, "\r", ch.ID)
				// Every % in the line starts an escape sequence.
				assert.NotRegexp(t, regexp.MustCompile(`%($|[^023]|2[^5C]|0[^DA]|3[^A])`), line, "%s: bare %% in %q", ch.ID, line)

				a, err := parseAnnotation(line)
				require.NoError(t, err)
				assert.Equal(t, "error", a.Command)
				assert.Equal(t, map[string]string{"title": ch.ID}, a.Properties)
				want := ch.Message
				if ch.Hint != "" {
					want += " Hint: " + ch.Hint
				}
				assert.Equal(t, want, a.Data, "%s decodes back to its message and hint", ch.ID)
				if strings.ContainsAny(want, "%\n\r") {
					sawEscapes = true
				}
			}
		})
	}
	assert.True(t, sawEscapes, "the recorded cases exercise %%, CR and LF in messages")
}

// TestAnnotationParserMatchesRunner: the test's decoder follows the runner's order (%25 last), so an escaped literal
// "%0A" does not turn into a newline.
func TestAnnotationParserMatchesRunner(t *testing.T) {
	a, err := parseAnnotation("::error title=a%3Ab%2Cc%25::x%250Ay%0Az%0D%25")
	require.NoError(t, err)
	assert.Equal(t, "a:b,c%", a.Properties["title"])
	assert.Equal(t, "x%0Ay\nz\r%", a.Data)
}
