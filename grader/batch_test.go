package grader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// These tests grade static-only: they never reach a cluster (the cluster's side of DefaultParallel uses a fake).

// hostileName is a student directory name that would run script in a report that did not escape it.
const hostileName = `<img src=x onerror=alert(1)>`

// copySubmission copies the manifests (*.yaml, *.yml) of src into dst.
func copySubmission(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		if e.IsDir() || e.Name() == "expected.yaml" || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

// class makes a class directory: reference, two fixtures, a hostile name (a copy of reference), and things that are
// not submissions (a hidden directory, a file, a symbolic link).
func class(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copySubmission(t, "../reference", filepath.Join(dir, "reference"))
	copySubmission(t, "../fixtures/ex1-read-without-r", filepath.Join(dir, "ex1-read-without-r"))
	copySubmission(t, "../fixtures/missing-persistent", filepath.Join(dir, "missing-persistent"))
	copySubmission(t, "../reference", filepath.Join(dir, hostileName))
	copySubmission(t, "../reference", filepath.Join(dir, ".git"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("class\n"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "reference"), filepath.Join(dir, "linked")))
	return dir
}

func TestListSubmissions(t *testing.T) {
	names, err := ListSubmissions(class(t))
	require.NoError(t, err)
	assert.Equal(t, []string{hostileName, "ex1-read-without-r", "missing-persistent", "reference"}, names,
		"sub-directories only, sorted; hidden ones, files and links are not submissions")
	_, err = ListSubmissions(filepath.Join(t.TempDir(), "none"))
	assert.Error(t, err)
}

func TestGradeClassStaticOnly(t *testing.T) {
	dir := class(t)
	out := filepath.Join(t.TempDir(), "out")
	var lines []string
	var dones []int
	c, err := GradeClass(context.Background(), dir, ClassOptions{Parallel: 2, Out: out, OnDone: func(p ClassProgress) {
		lines = append(lines, p.Line())
		dones = append(dones, p.Done)
		assert.Equal(t, 4, p.Total)
	}}, WithStaticOnly())
	require.NoError(t, err)
	assert.Equal(t, 2, c.Parallel)
	assert.Equal(t, []string{"ex1", "ex2", "ex3"}, c.Exercises)
	assert.False(t, c.Errored())
	assert.Equal(t, []int{1, 2, 3, 4}, dones, "OnDone once per submission, counting")
	require.Len(t, c.Submissions, 4)

	want := map[string]struct{ score, max int }{
		"reference": {13, 13}, hostileName: {13, 13},
		"ex1-read-without-r": {13, 13}, // its fault is runtime only
		"missing-persistent": {9, 27},  // ex3's 18 points all failed (the file is missing)
	}
	for i, s := range c.Submissions {
		assert.Equal(t, []string{hostileName, "ex1-read-without-r", "missing-persistent", "reference"}[i], s.Name, "sorted by name")
		require.NotNil(t, s.Result, s.Name)
		assert.Equal(t, result.StatusGraded, s.Result.Status, s.Name)
		assert.Equal(t, filepath.Join(dir, s.Name), s.Result.Submission)
		assert.Equal(t, want[s.Name].score, s.Result.Score, s.Name)
		assert.Equal(t, want[s.Name].max, s.Result.MaxScore, s.Name)
		assert.NoError(t, s.ReportErr)
		for _, f := range []string{report.ResultsFile, report.JUnitFile, report.SummaryFile, report.ClassroomFile, report.GradescopeFile} {
			assert.FileExists(t, filepath.Join(out, s.Name, f), "reports of %s", s.Name)
		}
	}
	assert.Equal(t, "missing-persistent", c.Submissions[2].Name)
	assert.Equal(t, 0, c.Submissions[2].Result.Exercises[2].Score, "ex3 of missing-persistent")
	for _, n := range []string{".git", "linked", "README.md"} {
		assert.NoFileExists(t, filepath.Join(out, n, report.ResultsFile), "%s is not a submission", n)
	}
	require.Len(t, lines, 4)
	for _, l := range lines {
		assert.Regexp(t, `^\[[1-4]/4\] .+ \d+/\d+ graded in \d+(\.\d+)?(ms|µs|s)$`, l)
	}

	rc := c.Report()
	require.Len(t, rc.Students, 4)
	assert.Equal(t, hostileName, rc.Students[0].Name)
	assert.Equal(t, Version, rc.GraderVersion)
	require.NoError(t, report.WriteClass(out, rc))
	b, err := os.ReadFile(filepath.Join(out, report.ClassCSVFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), "missing-persistent,graded,9,27,5,4,0\n")
	h, err := os.ReadFile(filepath.Join(out, report.ClassHTMLFile))
	require.NoError(t, err)
	assert.NotContains(t, string(h), hostileName)
	assert.Contains(t, string(h), "&lt;img src=x onerror=alert(1)&gt;")
}

func TestGradeClassOneAtATime(t *testing.T) {
	c, err := GradeClass(context.Background(), class(t), ClassOptions{}, WithStaticOnly(), WithExercises("ex2"))
	require.NoError(t, err)
	assert.Equal(t, 1, c.Parallel, "Parallel <= 0 grades one at a time")
	assert.Equal(t, []string{"ex2"}, c.Exercises)
	for _, s := range c.Submissions {
		assert.NoError(t, s.ReportErr, "no Out: no reports")
		assert.Equal(t, 4, s.Result.MaxScore, s.Name)
	}
}

func TestGradeClassInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "out")
	c, err := GradeClass(ctx, class(t), ClassOptions{Parallel: 2, Out: out}, WithStaticOnly())
	require.NoError(t, err)
	assert.True(t, c.Errored())
	for _, s := range c.Submissions {
		assert.Equal(t, result.StatusError, s.Result.Status, s.Name)
		assert.Contains(t, *s.Result.Error, "interrupted", s.Name)
		assert.FileExists(t, filepath.Join(out, s.Name, report.ResultsFile), "an interrupted submission still gets its reports")
	}
	l := ClassProgress{Done: 1, Total: 4, Submission: c.Submissions[0]}.Line()
	assert.Equal(t, "[1/4] "+hostileName+" error in 0s: interrupted: the batch was stopped before this submission was graded", l)
}

func TestClassSubmissionsRefuses(t *testing.T) {
	dir := class(t)
	empty := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(empty, ".hidden"), 0o755))
	clash := t.TempDir()
	copySubmission(t, "../reference", filepath.Join(clash, report.ClassHTMLFile))
	for name, tc := range map[string]struct{ dir, out, want string }{
		"no submission":           {empty, "", "holds no submission"},
		"out is the class":        {dir, dir, "inside the submissions directory"},
		"out inside the class":    {dir, filepath.Join(dir, "reports", "x"), "inside the submissions directory"},
		"out inside, relative":    {dir, filepath.Join(dir, "reference", "..", "out"), "inside the submissions directory"},
		"a report's name":         {clash, filepath.Join(t.TempDir(), "out"), "class.html"},
		"not a directory":         {filepath.Join(dir, "README.md"), "", "read submissions directory"},
		"a missing class":         {filepath.Join(dir, "nope"), "", "read submissions directory"},
		"out beside a link to it": {dir, filepath.Join(t.TempDir(), "sibling"), ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ClassSubmissions(tc.dir, tc.out)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = GradeClass(context.Background(), tc.dir, ClassOptions{Out: tc.out}, WithStaticOnly())
			assert.Error(t, err, "GradeClass refuses the same")
		})
	}
	// A class reached through a symbolic link is still recognised around its output.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	_, err := ClassSubmissions(link, filepath.Join(dir, "out"))
	assert.ErrorContains(t, err, "inside the submissions directory")
}

func TestClassProgressLine(t *testing.T) {
	msg := "cluster unavailable: connection refused\nmore"
	graded := &result.Submission{Status: result.StatusGraded, Score: 47, MaxScore: 52}
	for _, tc := range []struct {
		p    ClassProgress
		want string
	}{
		{ClassProgress{3, 20, ClassSubmission{Name: "alice", Result: graded, Duration: 58*time.Second + 300*time.Millisecond}}, "[3/20] alice 47/52 graded in 58s"},
		{ClassProgress{4, 20, ClassSubmission{Name: "bob", Result: graded, Duration: 2500 * time.Millisecond}}, "[4/20] bob 47/52 graded in 2.5s"},
		{ClassProgress{5, 20, ClassSubmission{Name: "carol", Result: graded, Duration: 42 * time.Millisecond}}, "[5/20] carol 47/52 graded in 42ms"},
		{ClassProgress{6, 20, ClassSubmission{Name: "dave", Result: &result.Submission{Status: result.StatusError, Error: &msg}, Duration: 75 * time.Second}},
			"[6/20] dave error in 1m15s: cluster unavailable: connection refused …"},
		{ClassProgress{7, 20, ClassSubmission{Name: "erin", Result: graded, Duration: time.Minute, ReportErr: errors.New("disk full")}},
			"[7/20] erin 47/52 graded in 1m0s; reports not written: disk full"},
		{ClassProgress{8, 20, ClassSubmission{Name: "mallory\x1b[2J\x1b]0;owned\x07", Result: graded, Duration: time.Minute}},
			"[8/20] mallory\uFFFD[2J\uFFFD]0;owned\uFFFD 47/52 graded in 1m0s"},
	} {
		assert.Equal(t, tc.want, tc.p.Line())
	}
}

func TestDefaultParallelWithoutCluster(t *testing.T) {
	dir := class(t)
	n, why, err := DefaultParallel(context.Background(), dir, WithStaticOnly())
	require.NoError(t, err)
	assert.Equal(t, min(runtime.NumCPU(), MaxDefaultParallel), n)
	assert.Contains(t, why, fmt.Sprintf("one per CPU of this machine (%d)", runtime.NumCPU()))

	n, _, err = DefaultParallel(context.Background(), dir)
	assert.Error(t, err, "no cluster configured")
	assert.Equal(t, 1, n)
}
