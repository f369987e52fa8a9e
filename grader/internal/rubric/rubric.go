// Package rubric reads an instructor's rubric file: point overrides, disabled checks and deadlines. Without a file
// the defaults of RUBRIC.md apply.
package rubric

import (
	"fmt"
	"os"
	"sort"
	"time"

	"sigs.k8s.io/yaml"
)

// Deadlines are the runtime checks' polling deadlines.
type Deadlines struct {
	Ready        Duration `json:"ready"`         // pod Ready (no PVC)
	ReadyWithPVC Duration `json:"ready_pvc"`     // pod Ready with a PVC to bind
	ProbeLine    Duration `json:"probe_line"`    // a probe's line in a sidecar's output
	Forwarder    Duration `json:"forwarder"`     // two forwarder cycles (5 s each in the lab) with slack
	Aggregator   Duration `json:"aggregator"`    // two aggregator cycles (10 s each in the lab) with slack
	FirstError   Duration `json:"first_error"`   // the lab app's first ERROR line (10 entries at 2-5 s)
	GracefulStop Duration `json:"graceful_stop"` // adv.graceful-stop: a pod gone within this after deletion
}

// Duration is a time.Duration written as "90s" in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON reads "90s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) > 1 && s[0] == '"' {
		v, err := time.ParseDuration(s[1 : len(s)-1])
		if err != nil {
			return err
		}
		d.Duration = v
		return nil
	}
	var secs float64
	if _, err := fmt.Sscanf(s, "%g", &secs); err != nil {
		return fmt.Errorf("duration %s: want \"90s\" or seconds", s)
	}
	d.Duration = time.Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes "90s".
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// Override changes one check.
type Override struct {
	Points   *int `json:"points,omitempty"`
	Disabled bool `json:"disabled,omitempty"`
}

// Rubric is the grading configuration.
type Rubric struct {
	Name      string              `json:"name"`
	Checks    map[string]Override `json:"checks"`
	Deadlines Deadlines           `json:"deadlines"`
	PassScore int                 `json:"pass_score"`
}

// Default is RUBRIC.md's rubric.
func Default() *Rubric {
	return &Rubric{Name: "default (RUBRIC.md)", Checks: map[string]Override{}, Deadlines: DefaultDeadlines()}
}

// DefaultDeadlines are RUBRIC.md's defaults.
func DefaultDeadlines() Deadlines {
	s := func(n int) Duration { return Duration{time.Duration(n) * time.Second} }
	return Deadlines{Ready: s(90), ReadyWithPVC: s(120), ProbeLine: s(10), Forwarder: s(15), Aggregator: s(25),
		// GracefulStop: RUBRIC.md says 10 s, but on a loaded 2-core node the kubelet and the API server alone took
		// more than 8 s to remove a pod whose processes had exited at once (a reference pod failed once). The grader
		// deletes with a 30 s grace period, so a pod that ignores SIGTERM takes >= 30 s: 20 s keeps 10 s of margin
		// on both sides.
		FirstError: s(90), GracefulStop: s(20)}
}

// Load reads a rubric file; unset deadlines keep their defaults.
func Load(path string) (*Rubric, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rubric: %w", err)
	}
	r := Default()
	r.Name = path
	if err := yaml.UnmarshalStrict(b, r); err != nil {
		return nil, fmt.Errorf("rubric %s: %w", path, err)
	}
	if r.Checks == nil {
		r.Checks = map[string]Override{}
	}
	def := DefaultDeadlines()
	for _, p := range []struct{ got, def *Duration }{
		{&r.Deadlines.Ready, &def.Ready}, {&r.Deadlines.ReadyWithPVC, &def.ReadyWithPVC},
		{&r.Deadlines.ProbeLine, &def.ProbeLine}, {&r.Deadlines.Forwarder, &def.Forwarder},
		{&r.Deadlines.Aggregator, &def.Aggregator}, {&r.Deadlines.FirstError, &def.FirstError},
		{&r.Deadlines.GracefulStop, &def.GracefulStop},
	} {
		if p.got.Duration <= 0 {
			*p.got = *p.def
		}
	}
	return r, nil
}

// Points returns the points of check id: the override, or def.
func (r *Rubric) Points(id string, def int) int {
	if o, ok := r.Checks[id]; ok && o.Points != nil {
		return *o.Points
	}
	return def
}

// Disabled reports whether the rubric disables check id.
func (r *Rubric) Disabled(id string) bool { return r.Checks[id].Disabled }

// Unknown returns the override IDs not in known, sorted, so that a typo in a rubric file is reported, not ignored.
func (r *Rubric) Unknown(known map[string]bool) []string {
	var out []string
	for id := range r.Checks {
		if !known[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
