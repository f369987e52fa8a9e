// Package report writes every report of a graded submission from one *result.Submission: results.json (the
// Submission itself), junit.xml, summary.md (the GitHub step summary), classroom.b64 (GitHub Classroom's runner
// result) and gradescope.json (Gradescope's results.json). It also renders what the CLI prints: a progress line per
// check, a summary table, GitHub Actions annotations, and the exit code. RUBRIC.md ("Reports", "Scores") is the
// contract every format here follows.
//
// Reports are pure functions of the Submission: nothing here re-tallies scores or mutates its input.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sidecar-lab/grader/grader/result"
)

// File names of the reports WriteAll writes.
const (
	ResultsFile    = "results.json"
	JUnitFile      = "junit.xml"
	SummaryFile    = "summary.md"
	ClassroomFile  = "classroom.b64"
	GradescopeFile = "gradescope.json"
)

// WriteAll renders every report of s and writes them into dir, creating dir if missing. All reports are rendered in
// memory first, so a rendering error writes nothing. Each file is written atomically (a temporary file in dir, synced,
// then renamed over the target), so a killed run leaves either the previous file or the new one, never half a file.
// results.json is written last: once it is present, every other report of the same run is complete.
func WriteAll(dir string, s *result.Submission) error {
	if s == nil {
		return errors.New("report: nil submission")
	}
	resultsJSON, err := JSON(s)
	if err != nil {
		return err
	}
	junitXML, err := JUnitXML(s)
	if err != nil {
		return err
	}
	classroom, err := Classroom(s)
	if err != nil {
		return err
	}
	gradescope, err := Gradescope(s)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{JUnitFile, junitXML},
		{SummaryFile, []byte(Markdown(s))},
		{ClassroomFile, []byte(classroom)},
		{GradescopeFile, gradescope},
		{ResultsFile, resultsJSON},
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: create output directory: %w", err)
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	syncDir(dir)
	return nil
}

// JSON renders results.json: the Submission as indented JSON, in RUBRIC.md's shape. Absent lists are written as
// empty arrays (`exercises`, `checks`, `evidence` are always arrays) and `error` is null or a string.
func JSON(s *result.Submission) ([]byte, error) {
	return marshalIndent(normalized(s))
}

// marshalIndent encodes v as two-space indented JSON with a trailing newline, without HTML escaping (evidence holds
// `<`, `>` and `&` often, and \u003c is needlessly hard to read).
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("report: encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// normalized returns a deep copy of s whose nil slices are empty, so that they encode as [] rather than null.
func normalized(s *result.Submission) *result.Submission {
	c := *s
	c.Exercises = make([]result.Exercise, len(s.Exercises))
	for i, e := range s.Exercises {
		e.Checks = make([]result.Check, len(s.Exercises[i].Checks))
		for j, ch := range s.Exercises[i].Checks {
			ch.Evidence = append([]string{}, ch.Evidence...)
			e.Checks[j] = ch
		}
		c.Exercises[i] = e
	}
	if s.Error != nil {
		msg := *s.Error
		c.Error = &msg
	}
	return &c
}

// writeAtomic writes data to path through a temporary file in the same directory and a rename, so readers (and a run
// killed half-way) only ever see a complete file. The file is left with mode 0644.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", base, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("report: write %s: %w", base, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// syncDir makes the renames in dir durable where the platform allows it; failure is harmless and ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
