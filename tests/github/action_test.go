package github_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// The grading action's documented interface (docs/github.md): its inputs with their defaults, and its outputs.
var (
	wantActionInputs = map[string]string{
		"submission-path":   ".",
		"grader-ref":        "",
		"grader-repository": "sidecar-lab/grader",
		"pass-score":        "",
		"exercises":         "",
		"rubric":            "",
		"artifact-name":     "grading-report",
	}
	wantActionOutputs = []string{"exit-code", "max-score", "report-dir", "result", "score", "status"}
)

// TestActionInterface: the composite action declares the documented inputs (all optional, with their defaults) and
// outputs, each with a description.
func TestActionInterface(t *testing.T) {
	a := loadAction(t)
	assert.Equal(t, "composite", a.Runs.Using)
	assert.NotEmpty(t, a.Name)
	assert.NotEmpty(t, a.Description)

	require.Equal(t, sortedKeys(wantActionInputs), sortedKeys(a.Inputs))
	for name, def := range wantActionInputs {
		in := a.Inputs[name]
		assert.NotEmpty(t, in.Description, "input %s is described", name)
		assert.False(t, in.Required, "input %s is optional", name)
		require.NotNil(t, in.Default, "input %s has a default", name)
		assert.Equal(t, def, *in.Default, "default of %s", name)
	}
	assert.Equal(t, wantActionOutputs, sortedKeys(a.Outputs))
	for name, out := range a.Outputs {
		assert.NotEmpty(t, out.Description, "output %s is described", name)
		assert.Regexp(t, `^\$\{\{ steps\.[a-z-]+\.outputs\.[a-z-]+ \}\}$`, out.Value, "output %s maps one step output", name)
	}
}

// TestActionSteps: each step is well formed for a composite action (run steps name their shell; uses steps are pinned
// or local), step IDs are unique, every inputs.X used is declared and every declared input is used, and the steps the
// brief asks for are there in order: check out the grader, set up Go, grade, job summary, upload, verdict.
func TestActionSteps(t *testing.T) {
	a := loadAction(t)
	ids := map[string]bool{}
	used := map[string]bool{}
	var order []string
	for i, s := range a.Runs.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.label())
		assert.NotEmpty(t, s.Name, "%s has a name", where)
		if s.ID != "" {
			assert.False(t, ids[s.ID], "%s: duplicate id", where)
			ids[s.ID] = true
		}
		switch {
		case s.Run != "" && s.Uses != "":
			t.Errorf("%s has both run and uses", where)
		case s.Run != "":
			assert.Equal(t, "bash", s.Shell, "%s: composite run steps must name their shell", where)
			m := regexp.MustCompile(`^bash "\$ACTION_DIR/grade\.sh" ([a-z]+)$`).FindStringSubmatch(strings.TrimSpace(s.Run))
			require.NotNil(t, m, "%s runs one grade.sh subcommand: %q", where, s.Run)
			assert.Equal(t, "${{ github.action_path }}", s.Env["ACTION_DIR"], "%s: ACTION_DIR is the action's folder", where)
			order = append(order, m[1])
		case s.Uses != "":
			order = append(order, strings.SplitN(s.Uses, "@", 2)[0])
		default:
			t.Errorf("%s has neither run nor uses", where)
		}
		for _, text := range append(append(expressionText(s.With), expressionText(s.Env)...), s.ifText(), s.Run) {
			for _, m := range inputsRE.FindAllStringSubmatch(text, -1) {
				used[m[1]] = true
				assert.Contains(t, a.Inputs, m[1], "%s uses an undeclared input", where)
			}
		}
	}
	for name := range a.Inputs {
		assert.True(t, used[name], "input %s is declared but never used", name)
	}
	assert.Equal(t, []string{"source", "actions/checkout", "actions/setup-go", "build", "run", "summary",
		"actions/upload-artifact", "verdict"}, order)
	for _, s := range a.Runs.Steps {
		switch {
		case s.Uses != "" && strings.HasPrefix(s.Uses, "actions/checkout@"):
			assert.Equal(t, "inputs.grader-ref != ''", s.ifText(), "the grader is checked out only for a grader-ref")
			assert.Equal(t, ".sidecar-lab-grader", s.With["path"], "into a side folder of the workspace")
			assert.Equal(t, "${{ inputs.grader-ref }}", s.With["ref"])
			assert.Equal(t, "${{ inputs.grader-repository }}", s.With["repository"])
		case s.ID == "grade":
			assert.Equal(t, "upstream", s.Env["IMAGES"], "GitHub's runners pull the upstream images")
			assert.Equal(t, "${{ steps.source.outputs.dir }}", s.Env["SIDECAR_LAB_REPO"],
				"the grader finds its cluster scripts in its source, not in the student's workspace")
			assert.Contains(t, s.Env["SIDECAR_LAB_CACHE"], "${{ runner.temp }}", "a cache the runner's user can write")
		case s.Uses != "" && strings.HasPrefix(s.Uses, "actions/setup-go@"):
			assert.Equal(t, "${{ steps.source.outputs.dir }}/go.mod", s.With["go-version-file"], "Go from the grader's go.mod")
		case s.Uses != "" && strings.HasPrefix(s.Uses, "actions/upload-artifact@"),
			s.Run != "" && strings.HasSuffix(s.Run, " summary"),
			s.Run != "" && strings.HasSuffix(s.Run, " verdict"):
			assert.True(t, strings.HasPrefix(s.ifText(), "always()"),
				"%s runs after a failure too (its if: %q)", s.label(), s.ifText())
		}
	}
}

// actionEnv is a sandbox in which grade.sh runs as a step of the action would.
type actionEnv struct {
	t          *testing.T
	dir        string // temporary root
	workspace  string // GITHUB_WORKSPACE, holding the submission folder "submission"
	outputs    string // GITHUB_OUTPUT file
	summary    string // GITHUB_STEP_SUMMARY file
	argsFile   string // the fake grader's recorded arguments
	path       string // PATH
	extraEnv   []string
	actionDir  string
	scriptPath string
}

// newActionEnv prepares a workspace with an empty submission folder and the fake grader.
func newActionEnv(t *testing.T) *actionEnv {
	t.Helper()
	dir := t.TempDir()
	e := &actionEnv{
		t:          t,
		dir:        dir,
		workspace:  filepath.Join(dir, "workspace"),
		outputs:    filepath.Join(dir, "github_output"),
		summary:    filepath.Join(dir, "step_summary"),
		argsFile:   filepath.Join(dir, "grader-args"),
		path:       sandboxPath(t, baseTools...),
		actionDir:  filepath.Dir(repoFile(t, actionPath)),
		scriptPath: repoFile(t, actionScriptPath),
	}
	require.NoError(t, os.MkdirAll(filepath.Join(e.workspace, "submission"), 0o755))
	require.NoError(t, os.WriteFile(e.summary, nil, 0o644))
	return e
}

// run runs `grade.sh <sub>` with the base environment plus env (KEY=value), starting with a fresh $GITHUB_OUTPUT.
func (e *actionEnv) run(sub string, env ...string) (scriptRun, map[string]string) {
	e.t.Helper()
	require.NoError(e.t, os.WriteFile(e.outputs, nil, 0o644))
	base := []string{
		"PATH=" + e.path,
		"HOME=" + e.dir,
		"GITHUB_OUTPUT=" + e.outputs,
		"GITHUB_STEP_SUMMARY=" + e.summary,
		"GITHUB_WORKSPACE=" + e.workspace,
		"GITHUB_ACTIONS=true",
		"RUNNER_TEMP=" + filepath.Join(e.dir, "runner-temp"),
		"ACTION_DIR=" + e.actionDir,
		"GRADER_BIN=" + repoFile(e.t, fakeGraderPath),
		"FAKE_ARGS_FILE=" + e.argsFile,
		"SUBMISSION_PATH=submission",
	}
	r := runScript(e.t, append(append(base, e.extraEnv...), env...), e.workspace, e.scriptPath, sub)
	return r, readOutputs(e.t, e.outputs)
}

// graderArgs returns the arguments the fake grader received.
func (e *actionEnv) graderArgs() []string {
	e.t.Helper()
	b, err := os.ReadFile(e.argsFile)
	require.NoError(e.t, err, "the grader ran")
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// annotations returns the workflow commands a script printed, parsed.
func annotations(t *testing.T, stdout string) []annotation {
	t.Helper()
	var out []annotation
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "::") {
			a, err := parseAnnotation(line)
			require.NoError(t, err)
			out = append(out, a)
		}
	}
	return out
}

// TestActionRunOutputs: `grade.sh run` turns each grader exit code into the documented outputs; `result` carries
// classroom.b64 only when the submission was graded (exit 0 or 1), so the Classroom reporter records no score when
// the grader or the cluster failed.
func TestActionRunOutputs(t *testing.T) {
	for _, c := range recordedCases {
		t.Run(c.Name, func(t *testing.T) {
			e := newActionEnv(t)
			reports := writeReports(t, c.Name)
			r, out := e.run("run", "FAKE_REPORTS="+reports, "FAKE_EXIT="+strconv.Itoa(c.WantExit))
			require.Equal(t, 0, r.Code, "the run step itself never fails\n%s%s", r.Stdout, r.Stderr)

			wantStatus := map[int]string{0: "pass", 1: "fail", 3: "error"}[c.WantExit]
			assert.Equal(t, strconv.Itoa(c.WantExit), out["exit-code"])
			assert.Equal(t, wantStatus, out["status"])
			assert.Equal(t, filepath.Join(e.dir, "runner-temp", "sidecar-lab-report"), out["report-dir"])
			for _, name := range []string{"exit-code", "status", "score", "max-score", "result", "report-dir"} {
				assert.Contains(t, out, name, "output %s is always written", name)
			}
			if c.WantExit == 3 {
				assert.Empty(t, out["result"], "no Classroom result on a grader failure")
				assert.Empty(t, out["score"])
				assert.Empty(t, out["max-score"])
				return
			}
			assert.Equal(t, strconv.Itoa(c.WantScore), out["score"])
			assert.Equal(t, strconv.Itoa(c.WantMax), out["max-score"])
			b64, err := os.ReadFile(filepath.Join(reports, report.ClassroomFile))
			require.NoError(t, err)
			assert.Equal(t, string(b64), out["result"])
			decoded, err := base64.StdEncoding.DecodeString(out["result"])
			require.NoError(t, err)
			var r2 classroomResult
			require.NoError(t, json.Unmarshal(decoded, &r2))
			assert.Equal(t, c.WantClassroom, r2.Status)

			// The grader got the submission folder (absolute) and the report folder.
			args := e.graderArgs()
			assert.Equal(t, []string{"--submission", filepath.Join(e.workspace, "submission"), "--out", out["report-dir"]}, args)
		})
	}
}

// TestActionRunPassesOptionalInputs: pass-score, exercises and rubric become grader flags; a relative rubric is
// resolved against the workspace.
func TestActionRunPassesOptionalInputs(t *testing.T) {
	e := newActionEnv(t)
	_, out := e.run("run", "FAKE_REPORTS="+writeReports(t, "lab-as-written"), "FAKE_EXIT=0",
		"PASS_SCORE=45", "EXERCISES=ex1,ex3", "RUBRIC=course/rubric.yaml")
	assert.Equal(t, "pass", out["status"])
	assert.Equal(t, []string{
		"--submission", filepath.Join(e.workspace, "submission"), "--out", out["report-dir"],
		"--pass-score", "45", "--exercise", "ex1,ex3", "--rubric", filepath.Join(e.workspace, "course/rubric.yaml"),
	}, e.graderArgs())
}

// TestActionRunProblems: a missing submission folder, a usage error, and a grader that exits 0 without reports.
func TestActionRunProblems(t *testing.T) {
	t.Run("missing submission", func(t *testing.T) {
		e := newActionEnv(t)
		r, out := e.run("run", "SUBMISSION_PATH=nowhere")
		assert.Equal(t, 0, r.Code)
		assert.Equal(t, "usage-error", out["status"])
		assert.Equal(t, "2", out["exit-code"])
		assert.Empty(t, out["result"])
		as := annotations(t, r.Stdout)
		require.Len(t, as, 1)
		assert.Equal(t, "Submission not found", as[0].Properties["title"])
		assert.Contains(t, as[0].Data, "actions/checkout")
		assert.NoFileExists(t, e.argsFile, "the grader did not run")
	})
	t.Run("usage error", func(t *testing.T) {
		e := newActionEnv(t)
		_, out := e.run("run", "FAKE_EXIT=2", "PASS_SCORE=lots")
		assert.Equal(t, "usage-error", out["status"])
		assert.Equal(t, "2", out["exit-code"])
		assert.Empty(t, out["result"])
	})
	t.Run("no reports", func(t *testing.T) {
		e := newActionEnv(t)
		r, out := e.run("run", "FAKE_EXIT=0")
		assert.Equal(t, "error", out["status"], "a grade without results.json is a grader failure")
		assert.Equal(t, "0", out["exit-code"])
		assert.Empty(t, out["result"])
		assert.Contains(t, r.Stdout, "::error title=Grader failure::")
	})
	t.Run("killed grader", func(t *testing.T) {
		e := newActionEnv(t)
		_, out := e.run("run", "FAKE_REPORTS="+writeReports(t, "reference"), "FAKE_EXIT=137")
		assert.Equal(t, "error", out["status"])
		assert.Equal(t, "137", out["exit-code"])
		assert.Empty(t, out["result"])
	})
}

// TestActionSummary: summary.md is appended to the job summary; without it a short note says why; an oversized one
// is cut under GitHub's 1 MiB per-step limit.
func TestActionSummary(t *testing.T) {
	t.Run("appends summary.md", func(t *testing.T) {
		e := newActionEnv(t)
		reports := writeReports(t, "lab-as-written")
		require.NoError(t, os.WriteFile(e.summary, []byte("earlier step\n"), 0o644))
		r, _ := e.run("summary", "REPORT_DIR="+reports)
		require.Equal(t, 0, r.Code, r.Stderr)
		md, err := os.ReadFile(filepath.Join(reports, report.SummaryFile))
		require.NoError(t, err)
		got, err := os.ReadFile(e.summary)
		require.NoError(t, err)
		assert.Equal(t, "earlier step\n"+string(md), string(got))
	})
	t.Run("no summary.md", func(t *testing.T) {
		e := newActionEnv(t)
		r, _ := e.run("summary", "REPORT_DIR="+t.TempDir(), "STATUS=error", "EXIT_CODE=3")
		require.Equal(t, 0, r.Code, r.Stderr)
		got, err := os.ReadFile(e.summary)
		require.NoError(t, err)
		assert.Contains(t, string(got), "The grader wrote no summary (status: error, grader exit code: 3)")
	})
	t.Run("oversized summary.md", func(t *testing.T) {
		e := newActionEnv(t)
		reports := t.TempDir()
		big := strings.Repeat("| ex1.check | failed | a long line of evidence |\n", 30_000) // ~1.4 MB
		require.NoError(t, os.WriteFile(filepath.Join(reports, "summary.md"), []byte(big), 0o644))
		r, _ := e.run("summary", "REPORT_DIR="+reports)
		require.Equal(t, 0, r.Code, r.Stderr)
		got, err := os.ReadFile(e.summary)
		require.NoError(t, err)
		assert.Less(t, len(got), 1<<20, "under GitHub's 1 MiB limit")
		assert.Contains(t, string(got), "the whole file is in the reports artifact")
	})
}

// TestActionVerdict: the final step passes on "pass" and fails with distinct messages and exit codes otherwise:
// 1 "graded below passing score", 3 "grader/cluster failure: re-run; no score recorded", 2 for a usage error.
func TestActionVerdict(t *testing.T) {
	for _, c := range []struct {
		status, exitCode string
		wantCode         int
		wantLevel        string
		wantTitle        string
		wantText         string
	}{
		{"pass", "0", 0, "notice", "Sidecar lab graded", "Score 52/52: passed."},
		{"fail", "1", 1, "error", "Graded below passing score", "graded below passing score: 49/52"},
		{"error", "3", 3, "error", "Grader failure", "grader/cluster failure: re-run; no score recorded (grader exit code 3)"},
		{"usage-error", "2", 2, "error", "Grader usage error", "check this action's inputs"},
		{"", "", 3, "error", "Grader failure", "grader/cluster failure: re-run; no score recorded (the grader did not run"},
	} {
		t.Run(c.status, func(t *testing.T) {
			e := newActionEnv(t)
			score, max := "52", "52"
			if c.status == "fail" {
				score = "49"
			}
			r, _ := e.run("verdict", "STATUS="+c.status, "EXIT_CODE="+c.exitCode, "SCORE="+score, "MAX_SCORE="+max)
			assert.Equal(t, c.wantCode, r.Code)
			as := annotations(t, r.Stdout)
			require.Len(t, as, 1, r.Stdout)
			assert.Equal(t, c.wantLevel, as[0].Command)
			assert.Equal(t, c.wantTitle, as[0].Properties["title"])
			assert.Contains(t, as[0].Data, c.wantText)
		})
	}
}

// TestActionSourceAndBuild: the source step finds the grader beside the action (or names the checkout folder for a
// grader-ref); the build step builds ./grader/cmd/grader into the output bin, and fails clearly when it cannot.
func TestActionSourceAndBuild(t *testing.T) {
	t.Run("source beside the action", func(t *testing.T) {
		e := newActionEnv(t)
		r, out := e.run("source")
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		assert.Equal(t, repoRoot(t), out["dir"])
	})
	t.Run("source from grader-ref", func(t *testing.T) {
		e := newActionEnv(t)
		r, out := e.run("source", "GRADER_REF=v1.0.0")
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		assert.Equal(t, filepath.Join(e.workspace, ".sidecar-lab-grader"), out["dir"])
	})
	t.Run("no grader beside the action", func(t *testing.T) {
		e := newActionEnv(t)
		lonely := filepath.Join(t.TempDir(), "a", "b", "c")
		require.NoError(t, os.MkdirAll(lonely, 0o755))
		r, out := e.run("source", "ACTION_DIR="+lonely)
		assert.Equal(t, 1, r.Code)
		assert.Empty(t, out["dir"])
		assert.Contains(t, r.Stdout, "set the grader-ref input")
	})

	// A fake go: `go build ... -o BIN ./grader/cmd/grader` writes BIN (or fails when FAKE_GO_FAIL is set).
	fakeGo := filepath.Join(t.TempDir(), "go")
	require.NoError(t, os.WriteFile(fakeGo, []byte(`#!/usr/bin/env bash
set -eu
[ -z "${FAKE_GO_FAIL:-}" ] || { echo "build failed" >&2; exit 1; }
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; shift; fi; shift; done
printf '#!/bin/sh\n' > "$out"; chmod +x "$out"
`), 0o755))
	t.Run("build", func(t *testing.T) {
		e := newActionEnv(t)
		require.NoError(t, os.Symlink(fakeGo, filepath.Join(e.path, "go")))
		r, out := e.run("build", "GRADER_SRC="+repoRoot(t))
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		assert.Equal(t, filepath.Join(e.dir, "runner-temp", "sidecar-lab-grader-bin", "grader"), out["bin"])
		assert.FileExists(t, out["bin"])
	})
	t.Run("build fails", func(t *testing.T) {
		e := newActionEnv(t)
		require.NoError(t, os.Symlink(fakeGo, filepath.Join(e.path, "go")))
		r, out := e.run("build", "GRADER_SRC="+repoRoot(t), "FAKE_GO_FAIL=1")
		assert.Equal(t, 1, r.Code)
		assert.Empty(t, out["bin"])
		assert.Contains(t, r.Stdout, "the grader failed to build")
	})
	t.Run("build without source", func(t *testing.T) {
		e := newActionEnv(t)
		r, _ := e.run("build", "GRADER_SRC="+t.TempDir())
		assert.Equal(t, 1, r.Code)
		assert.Contains(t, r.Stdout, "no go.mod in")
	})
}

// TestActionOutputsMapToStepOutputs: every steps.X.outputs.Y in action.yml (its outputs, and the steps' with, env and
// if) names an earlier step that writes Y: for run steps, what `grade.sh <subcommand>` really writes to
// $GITHUB_OUTPUT when run here; for uses steps, the pinned action's declared outputs.
func TestActionOutputsMapToStepOutputs(t *testing.T) {
	a := loadAction(t)
	pinned := loadPinnedActions(t)

	// What each run step writes, found by running it (the build step with the fake go).
	e := newActionEnv(t)
	fakeGo := filepath.Join(e.path, "go")
	require.NoError(t, os.WriteFile(fakeGo, []byte("#!/usr/bin/env bash\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then out=$2; shift; fi; shift; done\n: > \"$out\"\n"), 0o755))
	written := map[string]map[string]bool{}
	envFor := map[string][]string{
		"source":  nil,
		"build":   {"GRADER_SRC=" + repoRoot(t)},
		"run":     {"FAKE_REPORTS=" + writeReports(t, "lab-as-written"), "FAKE_EXIT=1"},
		"summary": {"REPORT_DIR=" + t.TempDir()},
		"verdict": {"STATUS=pass"},
	}
	stepsByID := map[string]step{}
	for _, s := range a.Runs.Steps {
		if s.ID != "" {
			stepsByID[s.ID] = s
		}
		if s.Run == "" {
			continue
		}
		sub := strings.TrimPrefix(strings.TrimSpace(s.Run), `bash "$ACTION_DIR/grade.sh" `)
		_, out := e.run(sub, envFor[sub]...)
		if s.ID != "" {
			written[s.ID] = map[string]bool{}
			for name := range out {
				written[s.ID][name] = true
			}
		}
	}
	outputsOfStep := func(id string) (map[string]bool, bool) {
		s, ok := stepsByID[id]
		if !ok {
			return nil, false
		}
		if s.Uses != "" {
			p, ok := pinned[s.Uses]
			return setOf(p.Outputs...), ok
		}
		return written[id], true
	}

	checkRef := func(r ref, before map[string]bool) {
		require.Equal(t, "steps", r.Kind, "%s: a composite action has no needs", r.Where)
		if before != nil {
			assert.True(t, before[r.Source], "%s: steps.%s is not an earlier step", r.Where, r.Source)
		}
		outs, ok := outputsOfStep(r.Source)
		if assert.True(t, ok, "%s: no step %q", r.Where, r.Source) {
			assert.True(t, outs[r.Output], "%s: step %s does not write output %q (it writes %v)",
				r.Where, r.Source, r.Output, sortedKeys(outs))
		}
	}
	earlier := map[string]bool{}
	count := 0
	for i, s := range a.Runs.Steps {
		for _, r := range stepRefs(fmt.Sprintf("step %d (%s)", i+1, s.label()), s) {
			checkRef(r, earlier)
			count++
		}
		if s.ID != "" {
			earlier[s.ID] = true
		}
	}
	for _, name := range sortedKeys(a.Outputs) {
		refs := refsIn("outputs."+name, false, a.Outputs[name].Value)
		require.Len(t, refs, 1, "output %s", name)
		checkRef(refs[0], nil)
		count++
	}
	assert.Greater(t, count, 15, "the check saw the action's references")
}

// TestActionDocumented: docs/github.md and the action's README name every input (with its default) and output.
func TestActionDocumented(t *testing.T) {
	a := loadAction(t)
	for _, doc := range []string{githubDocPath, actionReadmePath} {
		text := string(readRepoFile(t, doc))
		for name, in := range a.Inputs {
			assert.Contains(t, text, "`"+name+"`", "%s documents input %s", doc, name)
			if in.Default != nil && *in.Default != "" {
				assert.Contains(t, text, "`"+*in.Default+"`", "%s gives the default of %s", doc, name)
			}
		}
		for name := range a.Outputs {
			assert.Contains(t, text, "`"+name+"`", "%s documents output %s", doc, name)
		}
	}
}
