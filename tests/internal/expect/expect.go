// Package expect reads a fixture's expected verdicts (fixtures/<name>/expected.yaml) and compares a grading result
// with them, check by check.
package expect

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sidecar-lab/grader/grader/result"
)

// Expected is a fixture's expected.yaml: every check in Failed must fail, in Skipped be skipped, every other pass.
type Expected struct {
	Description string   `json:"description"`
	Failed      []string `json:"failed"`
	Skipped     []string `json:"skipped"`
}

// Fixture is one fixture directory with its expectations.
type Fixture struct {
	Name, Dir string
	Expected
}

// Load reads every fixture under dir (a sub-directory holding expected.yaml).
func Load(dir string) ([]Fixture, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Fixture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name(), "expected.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: %w", e.Name(), err)
		}
		var x Expected
		if err := yaml.UnmarshalStrict(b, &x); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, Fixture{Name: e.Name(), Dir: filepath.Join(dir, e.Name()), Expected: x})
	}
	return out, nil
}

// Want returns the expected status of check id.
func (x Expected) Want(id string) result.Status {
	for _, f := range x.Failed {
		if f == id {
			return result.Failed
		}
	}
	for _, s := range x.Skipped {
		if s == id {
			return result.Skipped
		}
	}
	return result.Passed
}

// Mismatches compares s with the expectations. kinds limits the comparison to checks of those kinds (nil = all).
// It also reports expected IDs that name no check (a typo in expected.yaml must not pass silently).
func (x Expected) Mismatches(s *result.Submission, kinds ...result.Kind) []string {
	var out []string
	known := map[string]bool{}
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			known[c.ID] = true
			if len(kinds) > 0 && !has(kinds, c.Kind) {
				continue
			}
			if want := x.Want(c.ID); c.Status != want {
				out = append(out, fmt.Sprintf("%s: want %s, got %s: %s", c.ID, want, c.Status, firstLine(c.Message)))
			}
		}
	}
	for _, id := range append(append([]string{}, x.Failed...), x.Skipped...) {
		if !known[id] {
			out = append(out, fmt.Sprintf("%s: named in expected.yaml but no such check was graded", id))
		}
	}
	sort.Strings(out)
	return out
}

func has(kinds []result.Kind, k result.Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
