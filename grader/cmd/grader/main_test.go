package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/internal/exercises/advisory"
	"github.com/sidecar-lab/grader/grader/result"
)

// These tests never reach a cluster: every run either stops at a usage error or grades --static-only.

const (
	reference = "../../../reference"
	wrongPath = "../../../fixtures/ex1-log-volume-wrong-path"
)

type runResult struct {
	code           int
	stdout, stderr string
	out            string // the --out directory
}

func runCLI(t *testing.T, args ...string) runResult {
	t.Helper()
	t.Setenv("GITHUB_ACTIONS", "") // no annotations in stdout
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return runResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// staticOnly grades dir with --static-only into a fresh output directory.
func staticOnly(t *testing.T, dir string, extra ...string) runResult {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	r := runCLI(t, append([]string{"--static-only", "--submission", dir, "--out", out}, extra...)...)
	r.out = out
	return r
}

func readResults(t *testing.T, out string) result.Submission {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	require.NoError(t, err)
	var s result.Submission
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

// allChecks is every check of the rubric, by ID, with its kind.
func allChecks() map[string]result.Kind {
	m := map[string]result.Kind{}
	for _, d := range grader.Exercises() {
		for _, s := range d.Checks {
			m[s.ID] = s.Kind
		}
	}
	for _, s := range advisory.Checks {
		m[s.ID] = s.Kind
	}
	return m
}

func TestUsageErrors(t *testing.T) {
	sub := t.TempDir()
	notDir := filepath.Join(sub, "file.yaml")
	require.NoError(t, os.WriteFile(notDir, []byte("x: 1\n"), 0o644))
	badRubric := filepath.Join(sub, "rubric.yaml")
	require.NoError(t, os.WriteFile(badRubric, []byte("checks: {}\nnot_a_setting: 1\n"), 0o644))
	typoRubric := filepath.Join(sub, "rubric-typo.yaml")
	require.NoError(t, os.WriteFile(typoRubric, []byte("checks:\n  ex1.verbatm: {points: 3}\n  ex1.ready: {points: 1}\n"), 0o644))
	badDuration := filepath.Join(sub, "rubric-duration.yaml")
	require.NoError(t, os.WriteFile(badDuration, []byte("deadlines: {ready: soon}\n"), 0o644))
	out := filepath.Join(t.TempDir(), "out")

	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no arguments", args: nil, stderr: "--submission DIR is required"},
		{name: "no --submission", args: []string{"--static-only", "--out", out}, stderr: "--submission DIR is required"},
		{name: "empty --submission", args: []string{"--static-only", "--submission", "", "--out", out}, stderr: "--submission DIR is required"},
		{name: "a stray argument", args: []string{"--static-only", "--submission", sub, "--out", out, "extra"}, stderr: "takes no other arguments"},
		{name: "an unknown flag", args: []string{"--static-only", "--submission", sub, "--out", out, "--colour"}, stderr: "colour"},
		{name: "a submission that does not exist", args: []string{"--static-only", "--submission", filepath.Join(sub, "nope"), "--out", out},
			stderr: "is not a directory"},
		{name: "a submission that is a file", args: []string{"--static-only", "--submission", notDir, "--out", out}, stderr: "is not a directory"},
		{name: "an unknown exercise", args: []string{"--static-only", "--submission", sub, "--out", out, "--exercise", "ex1,ex4"},
			stderr: `unknown exercise "ex4"`},
		{name: "an empty exercise in the list", args: []string{"--static-only", "--submission", sub, "--out", out, "--exercise", "ex1,"},
			stderr: "unknown exercise"},
		{name: "a rubric with an unknown key", args: []string{"--static-only", "--submission", sub, "--out", out, "--rubric", badRubric},
			stderr: "not_a_setting"},
		{name: "a rubric naming an unknown check", args: []string{"--static-only", "--submission", sub, "--out", out, "--rubric", typoRubric},
			stderr: "ex1.verbatm"},
		{name: "a rubric with a bad duration", args: []string{"--static-only", "--submission", sub, "--out", out, "--rubric", badDuration},
			stderr: "rubric"},
		{name: "a rubric that does not exist", args: []string{"--static-only", "--submission", sub, "--out", out, "--rubric", filepath.Join(sub, "none.yaml")},
			stderr: "read rubric"},
		{name: "a zero timeout", args: []string{"--static-only", "--submission", sub, "--out", out, "--timeout", "0s"}, stderr: "--timeout 0s"},
		{name: "a timeout without a unit", args: []string{"--static-only", "--submission", sub, "--out", out, "--timeout", "15"}, stderr: "timeout"},
		{name: "cluster without a verb", args: []string{"cluster"}, stderr: "usage: grader cluster"},
		{name: "cluster with an unknown verb", args: []string{"cluster", "sideways"}, stderr: "usage: grader cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			assert.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.NoDirExists(t, out, "a usage error writes no report")
		})
	}
}

var progressLine = regexp.MustCompile(`^  ([✔✘⊘!]) (\S+)\s+(-|\d+)/(\d+)`)

// progress returns the status symbol of each check's progress line in stdout, failing on a check printed twice.
func progress(t *testing.T, stdout string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if m := progressLine.FindStringSubmatch(l); m != nil {
			_, dup := got[m[2]]
			assert.False(t, dup, "check %s printed twice", m[2])
			got[m[2]] = m[1]
		}
	}
	return got
}

func TestStaticOnlyReference(t *testing.T) {
	r := staticOnly(t, reference)
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)

	for _, f := range []string{"results.json", "junit.xml", "summary.md", "classroom.b64", "gradescope.json"} {
		fi, err := os.Stat(filepath.Join(r.out, f))
		if assert.NoError(t, err, f) {
			assert.Positive(t, fi.Size(), f)
		}
	}

	checks := allChecks()
	lines := progress(t, r.stdout)
	assert.Len(t, lines, len(checks), "one progress line per check")
	for id, kind := range checks {
		want := "✔"
		if kind == result.Runtime {
			want = "⊘"
		}
		assert.Equal(t, want, lines[id], "progress line of %s", id)
	}
	assert.Contains(t, r.stdout, "Reports written to "+r.out)

	s := readResults(t, r.out)
	assert.Equal(t, result.StatusGraded, s.Status)
	assert.Nil(t, s.Error)
	assert.Equal(t, reference, s.Submission)
	assert.Equal(t, grader.Version, s.GraderVersion)
	// Static points of RUBRIC.md: ex1 5, ex2 4, ex3 4; runtime checks are skipped, so they leave the maximum.
	assert.Equal(t, 13, s.MaxScore)
	assert.Equal(t, s.MaxScore, s.Score)
	n := 0
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			n++
			if checks[c.ID] == result.Runtime {
				assert.Equal(t, result.Skipped, c.Status, c.ID)
			} else {
				assert.Equal(t, result.Passed, c.Status, "%s: %s", c.ID, c.Message)
			}
		}
	}
	assert.Equal(t, len(checks), n, "results.json holds every check")

	b, err := os.ReadFile(filepath.Join(r.out, "classroom.b64"))
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	require.NoError(t, err, "classroom.b64 is base64")
	var cl struct {
		Version  int    `json:"version"`
		Status   string `json:"status"`
		MaxScore int    `json:"max_score"`
	}
	require.NoError(t, json.Unmarshal(raw, &cl))
	assert.Equal(t, 1, cl.Version)
	assert.Equal(t, "pass", cl.Status)
	assert.Equal(t, 13, cl.MaxScore)

	b, err = os.ReadFile(filepath.Join(r.out, "gradescope.json"))
	require.NoError(t, err)
	var gs struct {
		Score int `json:"score"`
		Tests []struct {
			Name string `json:"name"`
		} `json:"tests"`
	}
	require.NoError(t, json.Unmarshal(b, &gs))
	assert.Equal(t, 13, gs.Score)
	assert.NotEmpty(t, gs.Tests)

	b, err = os.ReadFile(filepath.Join(r.out, "junit.xml"))
	require.NoError(t, err)
	var ju struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &ju))
	cases := 0
	for _, s := range ju.Suites {
		cases += len(s.Cases)
	}
	assert.Equal(t, len(checks), cases, "one testcase per check")
}

func TestStaticOnlyWrongPath(t *testing.T) {
	r := staticOnly(t, wrongPath)
	require.Equal(t, 1, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	s := readResults(t, r.out)
	assert.Equal(t, result.StatusGraded, s.Status)
	assert.Less(t, s.Score, s.MaxScore)
	c := s.Find("ex1.shared-volume")
	require.NotNil(t, c)
	assert.Equal(t, result.Failed, c.Status)
	assert.Contains(t, c.Message, "/var/log/nginx")
	assert.Equal(t, "✘", progress(t, r.stdout)["ex1.shared-volume"])
	for _, id := range []string{"ex1.manifest", "ex1.containers", "ex1.content-volume", "ex1.resources", "ex2.manifest", "ex3.manifest"} {
		c := s.Find(id)
		require.NotNil(t, c, id)
		assert.Equal(t, result.Passed, c.Status, "%s: %s", id, c.Message)
	}
}

func TestStaticOnlyPassScore(t *testing.T) {
	r := staticOnly(t, wrongPath, "--pass-score", "1")
	assert.Equal(t, 0, r.code, "a score at --pass-score exits 0: %s", r.stderr)
}

func TestStaticOnlyEmptySubmission(t *testing.T) {
	r := staticOnly(t, t.TempDir())
	require.Equal(t, 1, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	s := readResults(t, r.out)
	assert.Equal(t, result.StatusGraded, s.Status, "a missing file is the student's failure, not a grader error")
	assert.Nil(t, s.Error)
	assert.Equal(t, 0, s.Score)
	assert.Equal(t, 52, s.MaxScore, "RUBRIC.md's default total: no check is skipped")

	files := map[string]string{}
	for _, d := range grader.Exercises() {
		files[d.ID] = d.File + ".yaml"
	}
	lines := progress(t, r.stdout)
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			if e.ID == grader.AdvisoryID {
				continue
			}
			assert.Equal(t, result.Failed, c.Status, c.ID)
			assert.Contains(t, c.Message, files[e.ID], "%s names the missing file", c.ID)
			assert.Contains(t, c.Message, "missing", c.ID)
			assert.Equal(t, "✘", lines[c.ID], c.ID)
		}
	}
	// The advisory checks look across every file: with none loaded the static ones fail; the runtime one is not run.
	for id, want := range map[string]result.Status{advisory.ProbesID: result.Failed, advisory.LimitsID: result.Failed,
		advisory.GracefulStopID: result.Skipped} {
		c := s.Find(id)
		require.NotNil(t, c, id)
		assert.Equal(t, want, c.Status, "%s: %s", id, c.Message)
	}
}

func TestStaticOnlyExerciseSubset(t *testing.T) {
	r := staticOnly(t, reference, "--exercise", "ex2")
	require.Equal(t, 0, r.code, r.stderr)
	s := readResults(t, r.out)
	var ids []string
	for _, e := range s.Exercises {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, []string{"ex2", grader.AdvisoryID}, ids)
	assert.Equal(t, 4, s.MaxScore)
}

func TestStaticOnlyRubric(t *testing.T) {
	rub := filepath.Join(t.TempDir(), "rubric.yaml")
	require.NoError(t, os.WriteFile(rub, []byte("name: strict\nchecks:\n  ex1.manifest: {points: 5}\n  ex2.manifest: {disabled: true}\n"), 0o644))
	r := staticOnly(t, reference, "--rubric", rub)
	require.Equal(t, 0, r.code, r.stderr)
	s := readResults(t, r.out)
	assert.Equal(t, "strict", s.Rubric)
	assert.Equal(t, 5, s.Find("ex1.manifest").MaxPoints)
	assert.Equal(t, result.Skipped, s.Find("ex2.manifest").Status)
	assert.Equal(t, 13+4-1, s.MaxScore)
	assert.Contains(t, r.stdout, "rubric strict")
}
