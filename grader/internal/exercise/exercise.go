// Package exercise defines what an exercise is to the grader: its manifest, its rubric checks, the static
// evaluation of each check, and the runtime scenario that records the rest. Each exercise lives in its own package
// under grader/internal/exercises, so that all of one exercise's checks stand in one place.
package exercise

import (
	"context"
	"sync"
	"time"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// StaticFunc evaluates one static check on an exercise's parsed manifest. It is only called when the file loaded
// (f.Err == nil); it must never panic on odd input (missing pod, no containers, nil fields).
type StaticFunc func(f *submission.File) check.Verdict

// RuntimeFunc runs an exercise's manifest (already applied in the Env's namespace) and records a verdict for each
// of its runtime checks. It returns an error only when the grader or the cluster broke (a kube.InfraError); student
// failures are verdicts. Checks it leaves without a verdict fail as "not evaluated".
type RuntimeFunc func(ctx context.Context, env *Env) error

// Env is what a runtime scenario works with.
type Env struct {
	*kube.Session
	File      *submission.File
	Rec       *check.Recorder
	Deadlines rubric.Deadlines
	// Stops collects pod deletion timings for adv.graceful-stop; a scenario that deletes a pod itself records it.
	Stops *StopLog
	// Logf writes a debug line (shown with --verbose).
	Logf func(format string, a ...any)
}

// Stop is one measured pod deletion.
type Stop struct {
	Exercise, Pod string
	Took          time.Duration
	Gone          bool // gone within the graceful-stop deadline
}

// StopLog is a concurrency-safe list of Stops.
type StopLog struct {
	mu    sync.Mutex
	stops []Stop
}

// Add records a stop.
func (l *StopLog) Add(s Stop) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, s)
}

// All returns the recorded stops.
func (l *StopLog) All() []Stop {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Stop(nil), l.stops...)
}

// Has reports whether pod of exercise was measured.
func (l *StopLog) Has(exercise, pod string) bool {
	for _, s := range l.All() {
		if s.Exercise == exercise && s.Pod == pod {
			return true
		}
	}
	return false
}

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
