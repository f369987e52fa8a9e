package github_test

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/report"
)

// gradescopeEnv is a fake /autograder tree: source/ (run_autograder's zip contents, with the fake grader as
// source/grader), submission/ and results/.
type gradescopeEnv struct {
	t        *testing.T
	root     string
	argsFile string
	path     string
}

// newGradescopeEnv lays out the tree, with a kubeconfig in source/ unless noKubeconfig.
func newGradescopeEnv(t *testing.T, noKubeconfig bool) *gradescopeEnv {
	t.Helper()
	root := filepath.Join(t.TempDir(), "autograder")
	for _, d := range []string{"source", "submission", "results"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	fake, err := os.ReadFile(repoFile(t, fakeGraderPath))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "source", "grader"), fake, 0o755))
	if !noKubeconfig {
		require.NoError(t, os.WriteFile(filepath.Join(root, "source", "kubeconfig"), []byte("apiVersion: v1\nkind: Config\n"), 0o600))
	}
	return &gradescopeEnv{
		t:        t,
		root:     root,
		argsFile: filepath.Join(t.TempDir(), "grader-args"),
		path:     sandboxPath(t, baseTools...), // no docker: Gradescope has none
	}
}

// run runs gradescope/run_autograder with AUTOGRADER_ROOT pointing at the tree, plus env.
func (g *gradescopeEnv) run(env ...string) scriptRun {
	g.t.Helper()
	base := []string{
		"PATH=" + g.path,
		"HOME=" + g.root,
		"TMPDIR=" + g.t.TempDir(),
		"AUTOGRADER_ROOT=" + g.root,
		"FAKE_ARGS_FILE=" + g.argsFile,
	}
	return runScript(g.t, append(base, env...), g.root, repoFile(g.t, runAutograderPath))
}

// results returns results.json's bytes, or nil when it was not written.
func (g *gradescopeEnv) results() []byte {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.root, "results", "results.json"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(g.t, err)
	return b
}

// graderArgs returns the fake grader's arguments, or nil when it did not run.
func (g *gradescopeEnv) graderArgs() []string {
	g.t.Helper()
	b, err := os.ReadFile(g.argsFile)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(g.t, err)
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// notGradedResult is the results.json run_autograder writes when the grader could not grade.
type notGradedResult struct {
	Score     float64 `json:"score"`
	Output    string  `json:"output"`
	ExtraData struct {
		Status         string `json:"status"`
		GraderExitCode string `json:"grader_exit_code"`
		Error          string `json:"error"`
	} `json:"extra_data"`
	Tests []struct {
		Name     string  `json:"name"`
		Score    float64 `json:"score"`
		MaxScore float64 `json:"max_score"`
		Status   string  `json:"status"`
		Output   string  `json:"output"`
	} `json:"tests"`
}

// TestGradescopeRunAutograderCopiesGradedResults: for a graded submission (exit 0 or 1), results.json is the
// grader's gradescope.json byte for byte, which is a valid Gradescope results.json.
func TestGradescopeRunAutograderCopiesGradedResults(t *testing.T) {
	for _, c := range recordedCases {
		if c.WantExit == 3 {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			g := newGradescopeEnv(t, false)
			reports := writeReports(t, c.Name)
			r := g.run("FAKE_REPORTS="+reports, "FAKE_EXIT="+strconv.Itoa(c.WantExit))
			require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)

			want, err := os.ReadFile(filepath.Join(reports, report.GradescopeFile))
			require.NoError(t, err)
			got := g.results()
			assert.Equal(t, string(want), string(got))
			assert.Empty(t, validateGradescope(got))
			var parsed struct {
				Score float64 `json:"score"`
			}
			require.NoError(t, json.Unmarshal(got, &parsed))
			assert.Equal(t, float64(c.WantScore), parsed.Score)

			assert.Equal(t, []string{
				"--submission", filepath.Join(g.root, "submission"),
				"--out", g.graderArgs()[3], // a fresh temporary folder
				"--kubeconfig", filepath.Join(g.root, "source", "kubeconfig"),
			}, g.graderArgs())
			assert.Contains(t, r.Stdout, "wrote "+filepath.Join(g.root, "results", "results.json"))
			entries, err := os.ReadDir(filepath.Join(g.root, "results"))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left beside results.json")
		})
	}
}

// TestGradescopeRunAutograderNotGraded: exit 3 (and 2, a crash, missing or invalid reports) gives score 0 with an
// output telling the student it is not a verdict and extra_data.status "error" for the instructor, as valid JSON
// even when the grader's stderr holds quotes, backslashes, tabs and control characters.
func TestGradescopeRunAutograderNotGraded(t *testing.T) {
	nasty := "cluster \"sidecar-lab\": dial tcp 10.0.0.1:6443: i/o timeout\n\tpath C:\\kube\\config\x01\x1b[31m red 100%"
	for _, c := range []struct {
		name     string
		exit     string
		reports  string // recorded case whose reports the fake grader writes ("" none)
		garbage  bool   // overwrite gradescope.json with invalid JSON
		wantCode string
		wantText string
	}{
		{name: "grader failure", exit: "3", reports: "grader-error", wantCode: "3", wantText: "the grader or its Kubernetes cluster failed (exit code 3)"},
		{name: "usage error", exit: "2", wantCode: "2", wantText: "the autograder is misconfigured"},
		{name: "crash", exit: "139", wantCode: "139", wantText: "the grader stopped unexpectedly (exit code 139)"},
		{name: "no reports", exit: "0", wantCode: "0", wantText: "wrote no valid gradescope.json"},
		{name: "invalid report", exit: "1", reports: "lab-as-written", garbage: true, wantCode: "1", wantText: "wrote no valid gradescope.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGradescopeEnv(t, false)
			env := []string{"FAKE_EXIT=" + c.exit, "FAKE_STDERR=" + nasty}
			if c.reports != "" {
				dir := writeReports(t, c.reports)
				if c.garbage {
					require.NoError(t, os.WriteFile(filepath.Join(dir, report.GradescopeFile), []byte(`{"score": 4`), 0o644))
				}
				env = append(env, "FAKE_REPORTS="+dir)
			}
			r := g.run(env...)
			require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
			got := g.results()
			require.NotNil(t, got, "results.json is written")
			require.True(t, json.Valid(got), "valid JSON:\n%s", got)
			assert.Empty(t, validateGradescope(got))

			var res notGradedResult
			require.NoError(t, json.Unmarshal(got, &res))
			assert.Zero(t, res.Score, "score 0: Gradescope has no error status")
			assert.Equal(t, "error", res.ExtraData.Status)
			assert.Equal(t, c.wantCode, res.ExtraData.GraderExitCode)
			assert.Contains(t, res.Output, c.wantText)
			assert.Contains(t, res.Output, "This is not a verdict on your work")
			require.Len(t, res.Tests, 1)
			assert.Equal(t, "failed", res.Tests[0].Status)
			assert.Zero(t, res.Tests[0].MaxScore)
			if c.exit != "0" {
				assert.Contains(t, res.Tests[0].Output, "dial tcp 10.0.0.1:6443", "the grader's last stderr lines, for the instructor")
				assert.Contains(t, res.Tests[0].Output, `path C:\kube\config`)
			}
		})
	}
}

// TestGradescopeRunAutograderNoResultsMode: ON_GRADER_ERROR=no-results leaves no results.json (Gradescope then says
// "The autograder failed to execute correctly") and exits non-zero.
func TestGradescopeRunAutograderNoResultsMode(t *testing.T) {
	g := newGradescopeEnv(t, false)
	require.NoError(t, os.WriteFile(filepath.Join(g.root, "results", "results.json"), []byte("{}"), 0o644))
	r := g.run("FAKE_EXIT=3", "ON_GRADER_ERROR=no-results")
	assert.Equal(t, 1, r.Code)
	assert.Nil(t, g.results(), "a stale results.json is removed too")
	assert.Contains(t, r.Stdout, "no results.json written")
}

// TestGradescopeRunAutograderConfiguration: without a kubeconfig (and no Docker) the grader is not run and the
// instructor is told why; a missing grader binary likewise; grader.env and rubric.yaml in source/ become flags; a
// submission uploaded inside a folder is found there.
func TestGradescopeRunAutograderConfiguration(t *testing.T) {
	t.Run("no kubeconfig, no docker", func(t *testing.T) {
		g := newGradescopeEnv(t, true)
		r := g.run("FAKE_EXIT=0")
		require.Equal(t, 0, r.Code)
		assert.Nil(t, g.graderArgs(), "the grader did not run")
		var res notGradedResult
		require.NoError(t, json.Unmarshal(g.results(), &res))
		assert.Equal(t, "error", res.ExtraData.Status)
		assert.Contains(t, res.Tests[0].Output, "Put a kubeconfig for a grading cluster in the autograder zip")
	})
	t.Run("static only, no kubeconfig", func(t *testing.T) {
		g := newGradescopeEnv(t, true)
		r := g.run("FAKE_REPORTS="+writeReports(t, "reference"), "FAKE_EXIT=0", "GRADER_STATIC_ONLY=true")
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		assert.Equal(t, []string{"--static-only"}, g.graderArgs()[4:], "no kubeconfig needed")
		assert.Empty(t, validateGradescope(g.results()))
	})
	t.Run("no grader", func(t *testing.T) {
		g := newGradescopeEnv(t, false)
		require.NoError(t, os.Remove(filepath.Join(g.root, "source", "grader")))
		r := g.run()
		require.Equal(t, 0, r.Code)
		var res notGradedResult
		require.NoError(t, json.Unmarshal(g.results(), &res))
		assert.Contains(t, res.Output, "the grader program is missing")
		assert.Contains(t, res.Tests[0].Output, "gradescope/build-zip.sh")
	})
	t.Run("grader.env and rubric.yaml", func(t *testing.T) {
		g := newGradescopeEnv(t, false)
		src := filepath.Join(g.root, "source")
		require.NoError(t, os.WriteFile(filepath.Join(src, "grader.env"),
			[]byte("GRADER_CONTEXT=grading\nGRADER_EXERCISES=ex1,ex2\nGRADER_PASS_SCORE=30\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(src, "rubric.yaml"), []byte("checks: {}\n"), 0o644))
		r := g.run("FAKE_REPORTS="+writeReports(t, "reference"), "FAKE_EXIT=0")
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		args := g.graderArgs()
		assert.Equal(t, []string{
			"--kubeconfig", filepath.Join(src, "kubeconfig"), "--context", "grading",
			"--rubric", filepath.Join(src, "rubric.yaml"), "--exercise", "ex1,ex2", "--pass-score", "30",
		}, args[4:])
	})
	t.Run("submission inside a folder", func(t *testing.T) {
		g := newGradescopeEnv(t, false)
		nested := filepath.Join(g.root, "submission", "lab7-main", "solution")
		require.NoError(t, os.MkdirAll(nested, 0o755))
		for _, f := range []string{"basic-sidecar.yaml", "advanced-sidecar.yml", "persistent-sidecar.yaml"} {
			require.NoError(t, os.WriteFile(filepath.Join(nested, f), []byte("kind: Pod\n"), 0o644))
		}
		// A stray copy of one manifest elsewhere does not win over the folder holding all three.
		stray := filepath.Join(g.root, "submission", "lab7-main", "old")
		require.NoError(t, os.MkdirAll(stray, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(stray, "basic-sidecar.yaml"), []byte("kind: Pod\n"), 0o644))
		r := g.run("FAKE_REPORTS="+writeReports(t, "reference"), "FAKE_EXIT=0")
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		assert.Equal(t, nested, g.graderArgs()[1])
		assert.Contains(t, r.Stdout, "the manifests are in lab7-main/solution/")
	})
	t.Run("empty submission", func(t *testing.T) {
		g := newGradescopeEnv(t, false)
		r := g.run("FAKE_REPORTS="+writeReports(t, "broken-fixture"), "FAKE_EXIT=1")
		require.Equal(t, 0, r.Code)
		assert.Equal(t, filepath.Join(g.root, "submission"), g.graderArgs()[1], "the grader names the missing files")
	})
}

// TestGradescopeSetup: setup.sh accepts a zip with a runnable grader and refuses one without it.
func TestGradescopeSetup(t *testing.T) {
	path := sandboxPath(t, baseTools...) // no apt-get
	env := func(src string) []string { return []string{"PATH=" + path, "HOME=" + src, "SOURCE_DIR=" + src} }

	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "grader"), []byte("#!/bin/sh\necho usage; exit 0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "run_autograder"), []byte("#!/bin/sh\n"), 0o644))
	r := runScript(t, env(src), src, repoFile(t, setupPath))
	assert.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
	assert.Contains(t, r.Stderr, "no kubeconfig in the autograder zip")
	info, err := os.Stat(filepath.Join(src, "grader"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm(), "setup.sh makes the grader executable")

	empty := t.TempDir()
	r = runScript(t, env(empty), empty, repoFile(t, setupPath))
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, r.Stderr, "build the autograder zip with gradescope/build-zip.sh")
}

// TestGradescopeBuildZip: build-zip.sh puts setup.sh, run_autograder, the grader and the optional files at the root
// of the archive (Gradescope looks for them there), executables executable.
func TestGradescopeBuildZip(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "my-kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte("apiVersion: v1\n"), 0o600))
	envFile := filepath.Join(dir, "settings.env")
	require.NoError(t, os.WriteFile(envFile, []byte("GRADER_CONTEXT=grading\n"), 0o644))
	out := filepath.Join(dir, "autograder.zip")

	r := runScript(t, []string{"PATH=" + sandboxPath(t, baseTools...), "HOME=" + dir, "TMPDIR=" + dir,
		"GRADER_BIN=" + repoFile(t, fakeGraderPath)},
		dir, repoFile(t, buildZipPath), "-o", out, "--kubeconfig", kubeconfig, "--env", envFile)
	require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)

	z, err := zip.OpenReader(out)
	require.NoError(t, err)
	defer z.Close()
	modes := map[string]os.FileMode{}
	for _, f := range z.File {
		modes[f.Name] = f.Mode()
	}
	assert.Equal(t, []string{"grader", "grader.env", "kubeconfig", "run_autograder", "setup.sh"}, sortedKeys(modes))
	for _, exe := range []string{"grader", "run_autograder", "setup.sh"} {
		assert.NotZero(t, modes[exe]&0o100, "%s is executable in the archive", exe)
	}

	r = runScript(t, []string{"PATH=" + sandboxPath(t, baseTools...), "HOME=" + dir},
		dir, repoFile(t, buildZipPath), "--kubeconfig", filepath.Join(dir, "missing"))
	assert.Equal(t, 2, r.Code)
	assert.Contains(t, r.Stderr, "no such file")
}

// TestGradescopeDocumented: docs/gradescope.md names every setting run_autograder reads, the files of the zip, and
// what an error result looks like.
func TestGradescopeDocumented(t *testing.T) {
	doc := string(readRepoFile(t, gradescopeDocPath))
	script := string(readRepoFile(t, runAutograderPath))
	settings := regexp.MustCompile(`(?m)^#   ([A-Z_]+)\s`).FindAllStringSubmatch(script, -1)
	require.NotEmpty(t, settings)
	for _, m := range settings {
		assert.Contains(t, doc, "`"+m[1]+"`", "docs/gradescope.md documents %s", m[1])
	}
	for _, want := range []string{"setup.sh", "run_autograder", "kubeconfig", "grader.env", "rubric.yaml",
		"gradescope/build-zip.sh", "/autograder/results/results.json", "no-results", "extra_data"} {
		assert.Contains(t, doc, want)
	}
}
