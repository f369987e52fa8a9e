package report

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sidecar-lab/grader/grader/result"
)

// ClassroomResult is GitHub Classroom's runner result: the JSON that an autograding step base64-encodes into its
// `result` output and that classroom-resources/autograding-grading-reporter decodes from `<RUNNER>_RESULTS`. The
// reporter fails the job when Status is "fail" or "error", sums Tests[].Score against MaxScore for the points it
// reports to Classroom, and prints each test's Name (with " - line N" unless LineNo is 0), the Message of "error"
// tests, and TestCode when it is not empty.
type ClassroomResult struct {
	Version  int             `json:"version"`
	Status   string          `json:"status"` // "pass", "fail" or "error"
	MaxScore int             `json:"max_score"`
	Tests    []ClassroomTest `json:"tests"`
}

// ClassroomTest is one test of a ClassroomResult: one graded check.
type ClassroomTest struct {
	Name          string `json:"name"`
	Status        string `json:"status"` // "pass", "fail" or "error"
	Score         int    `json:"score"`
	MaxScore      int    `json:"max_score"`
	Message       string `json:"message"`
	TestCode      string `json:"test_code"`
	Filename      string `json:"filename"`
	LineNo        int    `json:"line_no"`
	ExecutionTime string `json:"execution_time"`
}

// Classroom statuses.
const (
	ClassroomPass  = "pass"
	ClassroomFail  = "fail"
	ClassroomError = "error"
)

// ClassroomReport builds the GitHub Classroom result of s. Its status is "error" when the submission's status is
// error, "pass" when the score equals the maximum, "fail" otherwise. Each passed, failed or error check is one test
// ("pass", "fail", "error"), named "<check id> <title>", whose message is the check's message and hint. Skipped
// checks are left out: their points are not in the maximum, and the reporter knows no skipped status.
func ClassroomReport(s *result.Submission) ClassroomResult {
	r := ClassroomResult{Version: 1, MaxScore: s.MaxScore, Tests: []ClassroomTest{}}
	switch {
	case s.Status == result.StatusError:
		r.Status = ClassroomError
	case s.Score == s.MaxScore:
		r.Status = ClassroomPass
	default:
		r.Status = ClassroomFail
	}
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			var st string
			switch c.Status {
			case result.Passed:
				st = ClassroomPass
			case result.Failed:
				st = ClassroomFail
			case result.Error:
				st = ClassroomError
			default:
				continue
			}
			msg := c.Message
			if c.Hint != "" && c.Status != result.Passed {
				msg += " Hint: " + c.Hint
			}
			r.Tests = append(r.Tests, ClassroomTest{
				Name:          testName(c),
				Status:        st,
				Score:         c.Points,
				MaxScore:      c.MaxPoints,
				Message:       msg,
				LineNo:        0,
				ExecutionTime: "0s",
			})
		}
	}
	return r
}

// Classroom renders classroom.b64: ClassroomReport(s) as compact JSON, base64-encoded with the standard alphabet,
// on one line with no trailing newline, ready for `echo "result=$(cat classroom.b64)" >> "$GITHUB_OUTPUT"`.
func Classroom(s *result.Submission) (string, error) {
	data, err := json.Marshal(ClassroomReport(s))
	if err != nil {
		return "", fmt.Errorf("report: encode Classroom result: %w", err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// testName is how Classroom and Gradescope name a check: "<id> <title>".
func testName(c result.Check) string {
	if c.Title == "" {
		return c.ID
	}
	return c.ID + " " + c.Title
}
