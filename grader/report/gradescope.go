package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/sidecar-lab/grader/grader/result"
)

// GradescopeResults is Gradescope's autograder results.json (the "Output format" of Gradescope's Autograder
// Specifications), holding only fields that specification documents. The total maximum is not one of them (an
// assignment's total points are set in Gradescope), so it travels in ExtraData["max_score"] with the status, the
// error, the rubric and the grader version.
type GradescopeResults struct {
	Score            int              `json:"score"`
	ExecutionTime    int              `json:"execution_time"` // seconds
	Output           string           `json:"output"`
	OutputFormat     string           `json:"output_format"`
	TestOutputFormat string           `json:"test_output_format"`
	TestNameFormat   string           `json:"test_name_format"`
	Visibility       string           `json:"visibility"`
	ExtraData        map[string]any   `json:"extra_data"`
	Tests            []GradescopeTest `json:"tests"`
}

// GradescopeTest is one test case of GradescopeResults: one check.
type GradescopeTest struct {
	Score    int      `json:"score"`
	MaxScore int      `json:"max_score"`
	Status   string   `json:"status"` // "passed" or "failed"
	Name     string   `json:"name"`
	Number   string   `json:"number"`
	Output   string   `json:"output"`
	Tags     []string `json:"tags"`
}

// Gradescope test statuses and formats.
const (
	GradescopePassed = "passed"
	GradescopeFailed = "failed"
	gradescopeText   = "text"
)

// GradescopeReport builds the Gradescope results of s. The top-level score is the submission's score (Gradescope lets
// it override the sum of the tests; here they agree); the output is a short plain-text summary; every output and name
// is declared "text" so that evidence holding `<` or `*` is shown as written. Each check is one test named
// "<id> <title>", numbered "<exercise>.<check>", tagged with its exercise ID and kind, visible like the whole result,
// and with output = message, hint and evidence. Failed and error checks are "failed" with score 0; a skipped check is
// a 0/0 "passed" test whose output says why it was skipped (its points leave the maximum; marking it failed would
// send the student after a problem that is not theirs).
func GradescopeReport(s *result.Submission) GradescopeResults {
	r := GradescopeResults{
		Score:            s.Score,
		ExecutionTime:    int(math.Round(s.DurationS)),
		Output:           gradescopeSummary(s),
		OutputFormat:     gradescopeText,
		TestOutputFormat: gradescopeText,
		TestNameFormat:   gradescopeText,
		Visibility:       "visible",
		ExtraData: map[string]any{
			"max_score":      s.MaxScore,
			"status":         s.Status,
			"error":          s.Error,
			"rubric":         s.Rubric,
			"grader_version": s.GraderVersion,
			"submission":     s.Submission,
		},
		Tests: []GradescopeTest{},
	}
	for i, e := range s.Exercises {
		for j, c := range e.Checks {
			t := GradescopeTest{
				Score:    c.Points,
				MaxScore: c.MaxPoints,
				Status:   GradescopeFailed,
				Name:     testName(c),
				Number:   fmt.Sprintf("%d.%d", i+1, j+1),
				Output:   checkBody(c, maxEvidenceText),
				Tags:     []string{e.ID, string(c.Kind)},
			}
			switch c.Status {
			case result.Passed:
				t.Status = GradescopePassed
			case result.Skipped:
				t.Status, t.Score, t.MaxScore = GradescopePassed, 0, 0
				t.Output = fmt.Sprintf("Skipped: the cluster cannot evaluate this check, so its %d point(s) leave the maximum.\nReason: %s",
					c.MaxPoints, c.Message)
			case result.Error:
				t.Score = 0
				t.Output = "The grader or the cluster failed while evaluating this check; this is not a verdict on your work.\n\n" + t.Output
			default:
				t.Score = 0
			}
			r.Tests = append(r.Tests, t)
		}
	}
	return r
}

// gradescopeSummary is the top-level output: score, status, and which checks failed or were skipped.
func gradescopeSummary(s *result.Submission) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Score: %d/%d.", s.Score, s.MaxScore)
	if s.Status == result.StatusError {
		fmt.Fprintf(&b, "\nThe grader or the cluster failed, so this score should not be recorded; ask your instructor to re-run the autograder.\nError: %s", orDash(errorText(s)))
	}
	var failed, skipped []string
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			switch c.Status {
			case result.Failed:
				failed = append(failed, c.ID)
			case result.Skipped:
				skipped = append(skipped, c.ID)
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\nFailed checks (%d): %s. Each test below says what was expected, what was seen, and a hint.", len(failed), strings.Join(failed, ", "))
	} else if s.Status != result.StatusError {
		b.WriteString("\nEvery check passed.")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\nSkipped checks (%d, not counted): %s.", len(skipped), strings.Join(skipped, ", "))
	}
	return b.String()
}

// Gradescope renders gradescope.json: GradescopeReport(s) as indented JSON, ready to be copied to
// /autograder/results/results.json.
func Gradescope(s *result.Submission) ([]byte, error) {
	return marshalIndent(GradescopeReport(s))
}
