// Package exercise defines what an exercise is to the grader: its manifest, its rubric checks, the static
// evaluation of each check, and the runtime scenario that records the rest. Each exercise lives in its own package
// under grader/internal/exercises, so that all of one exercise's checks stand in one place.
package exercise

import (
	"context"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// StaticFunc evaluates one static check on an exercise's parsed manifest. It is only called when the file loaded
// (f.Err == nil); it must never panic on odd input (missing pod, no containers, nil fields).
type StaticFunc func(f *submission.File) check.Verdict

// RuntimeFunc runs an exercise's manifest (already applied in s's namespace) and records a verdict for each of its
// runtime checks. It returns an error only when the grader or the cluster broke; student failures are verdicts.
type RuntimeFunc func(ctx context.Context, s *kube.Session, f *submission.File, rec *check.Recorder) error

// Definition is one exercise.
type Definition struct {
	ID     string       // "ex1"
	Title  string       // "Basic sidecar"
	File   string       // manifest base name, "basic-sidecar" (.yaml or .yml)
	Checks []check.Spec // every check, in rubric order
	Static map[string]StaticFunc
	// Run is the runtime scenario; nil for an exercise with no runtime checks.
	Run RuntimeFunc
}

// Spec returns the spec of check id, or false.
func (d *Definition) Spec(id string) (check.Spec, bool) {
	for _, s := range d.Checks {
		if s.ID == id {
			return s, true
		}
	}
	return check.Spec{}, false
}
