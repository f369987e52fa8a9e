// Package result holds what grading produces: one Check per rubric check, grouped into Exercises, grouped into a
// Submission. These types are the single shape every report (results.json, JUnit, summary, Classroom, Gradescope)
// is written from; their JSON form is results.json as RUBRIC.md specifies it.
package result

import "time"

// Status is a check's verdict.
type Status string

const (
	// Passed: the submission did what the check asserts.
	Passed Status = "passed"
	// Failed: the submission did not; this is the student's failure.
	Failed Status = "failed"
	// Skipped: the cluster cannot evaluate the check; its points leave the exercise's maximum.
	Skipped Status = "skipped"
	// Error: the grader or the cluster broke while evaluating the check; no score should be recorded.
	Error Status = "error"
)

// Kind says whether a check reads the manifest (static) or runs it (runtime).
type Kind string

const (
	// Static checks read the manifest only.
	Static Kind = "static"
	// Runtime checks run the manifest on a cluster.
	Runtime Kind = "runtime"
)

// Check is the verdict of one rubric check.
type Check struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Kind      Kind     `json:"kind"`
	Status    Status   `json:"status"`
	Points    int      `json:"points"`
	MaxPoints int      `json:"max_points"`
	Message   string   `json:"message"`
	Hint      string   `json:"hint"`
	Evidence  []string `json:"evidence"`
}

// Exercise groups the checks of one exercise (or the advisory group).
type Exercise struct {
	ID        string  `json:"id"`
	Title     string  `json:"title"`
	Score     int     `json:"score"`
	MaxScore  int     `json:"max_score"`
	DurationS float64 `json:"duration_s"`
	Checks    []Check `json:"checks"`
}

// Submission is the whole grading result: results.json.
type Submission struct {
	GraderVersion string     `json:"grader_version"`
	Submission    string     `json:"submission"`
	Rubric        string     `json:"rubric"`
	StartedAt     time.Time  `json:"started_at"`
	DurationS     float64    `json:"duration_s"`
	Status        string     `json:"status"` // "graded" or "error"
	Error         *string    `json:"error"`
	Score         int        `json:"score"`
	MaxScore      int        `json:"max_score"`
	Exercises     []Exercise `json:"exercises"`
}

// Submission statuses.
const (
	StatusGraded = "graded"
	StatusError  = "error"
)

// Tally recomputes an exercise's score and maximum from its checks: the sum of passed checks' points, and the sum
// of non-skipped checks' maximum points.
func (e *Exercise) Tally() {
	e.Score, e.MaxScore = 0, 0
	for i := range e.Checks {
		c := &e.Checks[i]
		if c.Status == Passed {
			c.Points = c.MaxPoints
		} else {
			c.Points = 0
		}
		e.Score += c.Points
		if c.Status != Skipped {
			e.MaxScore += c.MaxPoints
		}
	}
}

// Tally recomputes every exercise and the submission's totals; a check in error makes the submission an error.
func (s *Submission) Tally() {
	s.Score, s.MaxScore = 0, 0
	for i := range s.Exercises {
		e := &s.Exercises[i]
		e.Tally()
		s.Score += e.Score
		s.MaxScore += e.MaxScore
		for _, c := range e.Checks {
			if c.Status == Error && s.Status != StatusError {
				s.Status = StatusError
				msg := c.ID + ": " + c.Message
				s.Error = &msg
			}
		}
	}
	if s.Status == "" {
		s.Status = StatusGraded
	}
}

// Find returns the check with the given ID (in any exercise), or nil.
func (s *Submission) Find(id string) *Check {
	for i := range s.Exercises {
		for j := range s.Exercises[i].Checks {
			if s.Exercises[i].Checks[j].ID == id {
				return &s.Exercises[i].Checks[j]
			}
		}
	}
	return nil
}
