// Package check is the small framework every exercise's checks are written in: a Spec names a rubric check, a
// Verdict is what evaluating it found, and a Recorder collects verdicts as an exercise's runtime scenario goes.
package check

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sidecar-lab/grader/grader/result"
)

// Spec is one rubric check as RUBRIC.md defines it.
type Spec struct {
	ID     string
	Title  string
	Kind   result.Kind
	Points int
}

// Verdict is the outcome of evaluating one check.
type Verdict struct {
	Status   result.Status
	Message  string
	Hint     string
	Evidence []string
}

// Pass is a passed verdict with a short note of what was seen.
func Pass(format string, a ...any) Verdict {
	return Verdict{Status: result.Passed, Message: fmt.Sprintf(format, a...)}
}

// Fail is a failed verdict: what was expected, what was seen, and a hint for the student.
func Fail(expected, seen, hint string) Verdict {
	return Verdict{Status: result.Failed, Message: "expected " + expected + "; saw " + seen, Hint: hint}
}

// Skip is a skipped verdict: the cluster cannot evaluate the check.
func Skip(reason string) Verdict {
	return Verdict{Status: result.Skipped, Message: reason}
}

// Errorf is an error verdict: the grader or the cluster broke, not the student's work.
func Errorf(format string, a ...any) Verdict {
	return Verdict{Status: result.Error, Message: fmt.Sprintf(format, a...)}
}

// With returns v with evidence appended.
func (v Verdict) With(evidence ...string) Verdict {
	v.Evidence = append(append([]string(nil), v.Evidence...), evidence...)
	return v
}

// Recorder collects the verdicts of one exercise's checks. It is safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	verdicts map[string]Verdict
	order    []string
	progress func(id string, v Verdict)
}

// NewRecorder returns a Recorder; progress, if not nil, is called as each verdict is recorded.
func NewRecorder(progress func(id string, v Verdict)) *Recorder {
	return &Recorder{verdicts: map[string]Verdict{}, progress: progress}
}

// Set records the verdict of check id; the first verdict recorded for an id wins.
func (r *Recorder) Set(id string, v Verdict) {
	r.mu.Lock()
	if _, done := r.verdicts[id]; done {
		r.mu.Unlock()
		return
	}
	r.verdicts[id] = v
	r.order = append(r.order, id)
	r.mu.Unlock()
	if r.progress != nil {
		r.progress(id, v)
	}
}

// Has reports whether check id has a verdict.
func (r *Recorder) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.verdicts[id]
	return ok
}

// Get returns the verdict of check id.
func (r *Recorder) Get(id string) (Verdict, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.verdicts[id]
	return v, ok
}

// SetRest gives every check in specs that has no verdict yet the verdict v (used when a scenario stops early).
func (r *Recorder) SetRest(specs []Spec, kind result.Kind, v Verdict) {
	for _, s := range specs {
		if s.Kind == kind && !r.Has(s.ID) {
			r.Set(s.ID, v)
		}
	}
}

// Revise replaces the verdict of every check in specs of the given kind for which f returns true and a new verdict
// (used when the cluster, not the student, turns out to be behind verdicts already recorded); progress hears of
// each change.
func (r *Recorder) Revise(specs []Spec, kind result.Kind, f func(Verdict) (Verdict, bool)) {
	for _, s := range specs {
		if s.Kind != kind {
			continue
		}
		r.mu.Lock()
		old, ok := r.verdicts[s.ID]
		var nv Verdict
		var change bool
		if ok {
			nv, change = f(old)
			if change {
				r.verdicts[s.ID] = nv
			}
		}
		r.mu.Unlock()
		if change && r.progress != nil {
			r.progress(s.ID, nv)
		}
	}
}

// Results turns the recorded verdicts into result checks, in the order of specs, with points from points
// (rubric overrides) when given.
func (r *Recorder) Results(specs []Spec, points func(Spec) int) []result.Check {
	out := make([]result.Check, 0, len(specs))
	for _, s := range specs {
		v, ok := r.Get(s.ID)
		if !ok {
			v = Errorf("the grader did not evaluate this check (a grader bug)")
		}
		max := s.Points
		if points != nil {
			max = points(s)
		}
		ev := v.Evidence
		if ev == nil {
			ev = []string{}
		}
		out = append(out, result.Check{
			ID: s.ID, Title: s.Title, Kind: s.Kind, Status: v.Status, MaxPoints: max,
			Message: strings.TrimSpace(v.Message), Hint: v.Hint, Evidence: ev,
		})
	}
	return out
}
