package github_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// findSteps returns the steps of wf whose `uses:` satisfies match, with their job IDs.
func findSteps(wf workflow, match func(uses string) bool) (jobs []string, steps []step) {
	for _, id := range sortedKeys(wf.Jobs) {
		for _, s := range wf.Jobs[id].Steps {
			if s.Uses != "" && match(s.Uses) {
				jobs = append(jobs, id)
				steps = append(steps, s)
			}
		}
	}
	return jobs, steps
}

// TestWorkflowStudentExampleUsesRealInputs: the example's call of the grading action passes only declared inputs,
// pins the action to a release tag, and checks out the grader at that same tag.
func TestWorkflowStudentExampleUsesRealInputs(t *testing.T) {
	wf := loadWorkflow(t, studentWorkflowPath)
	a := loadAction(t)
	_, steps := findSteps(wf, isOurAction)
	require.Len(t, steps, 1, "the example calls the grading action once")
	s := steps[0]

	m := regexp.MustCompile(`^sidecar-lab/grader/\.github/actions/grade@(v\d+\.\d+\.\d+)$`).FindStringSubmatch(s.Uses)
	require.NotNil(t, m, "the example calls the published action at a release tag: %q", s.Uses)
	assert.Equal(t, m[1], s.With["grader-ref"], "grader-ref is the same release as the action")
	assert.Equal(t, "grade", s.ID)
	for key := range s.With {
		assert.Contains(t, a.Inputs, key, "with: %s is not an input of the action", key)
	}
	for name, in := range a.Inputs {
		if in.Required {
			assert.Contains(t, s.With, name, "required input %s is passed", name)
		}
	}
	assert.Contains(t, s.With, "submission-path")
}

// TestWorkflowOutputReferencesExist: in the example, the CI workflow and every workflow file, each steps.X.outputs.Y
// and needs.J.outputs.Y names an earlier step or a needed job that has that output.
func TestWorkflowOutputReferencesExist(t *testing.T) {
	resolve := outputsResolver(t)
	for _, rel := range []string{studentWorkflowPath, ciWorkflowPath} {
		t.Run(rel, func(t *testing.T) {
			wf := loadWorkflow(t, rel)
			assert.Empty(t, checkWorkflowRefs(wf, resolve))
		})
	}
	// The example's references are there to be checked.
	wf := loadWorkflow(t, studentWorkflowPath)
	n := 0
	for _, j := range wf.Jobs {
		for i, s := range j.Steps {
			n += len(stepRefs(fmt.Sprint(i), s))
		}
		for _, v := range j.Outputs {
			n += len(refsIn("", false, v))
		}
	}
	assert.GreaterOrEqual(t, n, 5, "the example references the action's outputs")
}

// TestWorkflowReferenceCheckerCatchesMistakes: checkWorkflowRefs is not vacuous: it reports an unknown output, a step
// referenced before it runs, an undeclared needs, a job output that does not exist, and a run step's missing output.
func TestWorkflowReferenceCheckerCatchesMistakes(t *testing.T) {
	resolve := outputsResolver(t)
	good := `
jobs:
  a:
    runs-on: ubuntu-24.04
    outputs:
      score: ${{ steps.grade.outputs.score }}
    steps:
      - id: grade
        uses: ./.github/actions/grade
      - id: mine
        run: echo "answer=42" >> "$GITHUB_OUTPUT"
      - if: ${{ steps.grade.outputs.status == 'fail' && steps.mine.outputs.answer != '' }}
        run: echo ${{ steps.grade.outputs.result }}
  b:
    runs-on: ubuntu-24.04
    needs: a
    if: needs.a.outputs.score != ''
    steps:
      - run: echo "${{ needs.a.outputs.score }}"
`
	require.Empty(t, checkWorkflowRefs(loadWorkflowBytes(t, []byte(good)), resolve))

	for name, c := range map[string]struct{ from, to, want string }{
		"unknown action output": {"steps.grade.outputs.result }}", "steps.grade.outputs.results }}", `has no output "results"`},
		"step not yet run":      {"if: ${{ steps.grade.outputs.status", "if: ${{ steps.later.outputs.status", `no step with id "later"`},
		"job not needed":        {"needs: a\n", "needs: []\n", "job a is not in needs:"},
		"job output missing":    {`echo "${{ needs.a.outputs.score }}"`, `echo "${{ needs.a.outputs.grade }}"`, `declares no output "grade"`},
		"run output missing":    {"steps.mine.outputs.answer", "steps.mine.outputs.question", `has no output "question"`},
		"job output, bad step":  {"score: ${{ steps.grade.outputs.score }}", "score: ${{ steps.grade.outputs.points }}", `has no output "points"`},
		"unknown action":        {"uses: ./.github/actions/grade", "uses: someone/else@v1", "outputs of \"someone/else@v1\" are unknown"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(good, c.from, c.to, 1)
			require.NotEqual(t, good, bad, "the mutation applies")
			problems := checkWorkflowRefs(loadWorkflowBytes(t, []byte(bad)), resolve)
			assert.Contains(t, strings.Join(problems, "\n"), c.want)
		})
	}
}

// TestWorkflowClassroomReporterWiring: the example's reporter step follows classroom-resources'
// autograding-grading-reporter@v1 (src/main.js): for each runner R in `runners`, the variable <R uppercased>_RESULTS
// holds ${{ steps.R.outputs.result }} of a step that calls the grading action; runner IDs match the reporter's own
// pattern; the reporter runs after a below-passing grade (the action then fails the job) but only when there is a
// result (none after a grader failure), and not when the run is cancelled.
func TestWorkflowClassroomReporterWiring(t *testing.T) {
	wf := loadWorkflow(t, studentWorkflowPath)
	jobs, reporters := findSteps(wf, func(uses string) bool { return strings.HasPrefix(uses, reporterAction+"@") })
	require.Len(t, reporters, 1, "the example reports to GitHub Classroom once")
	rep, job := reporters[0], wf.Jobs[jobs[0]]

	runners, ok := rep.With["runners"].(string)
	require.True(t, ok, "runners is a string")
	assert.Regexp(t, `^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$`, runners, "the reporter's pattern for runners")
	stepByID := map[string]step{}
	for _, s := range job.Steps {
		if s.ID != "" {
			stepByID[s.ID] = s
		}
	}
	for _, r := range strings.Split(runners, ",") {
		r = strings.TrimSpace(r)
		envName := strings.ToUpper(r) + "_RESULTS"
		assert.Equal(t, "${{ steps."+r+".outputs.result }}", rep.Env[envName], "env %s carries step %s's result", envName, r)
		s, ok := stepByID[r]
		if assert.True(t, ok, "runner %s is a step of the job", r) {
			assert.True(t, isOurAction(s.Uses), "runner %s is the grading action", r)
		}
	}
	cond := rep.ifText()
	assert.Contains(t, cond, "!cancelled()", "the reporter runs after the grading step failed")
	assert.Contains(t, cond, "steps.grade.outputs.result != ''", "and only when there is a result")
	assert.NotContains(t, cond, "always()", "not when the run is cancelled")

	// GitHub Classroom's own commits are not graded, and the job can read actions (the reporter's permissions).
	assert.Contains(t, fmt.Sprint(job.If), "github-classroom[bot]")
	assert.Equal(t, map[string]any{"actions": "read", "contents": "read"}, wf.Permissions)
}

// TestWorkflowPinnedActions: every `uses:` in the workflows, the action and the example is local, this repository's
// action, or a third-party action in testdata/pinned-actions.json, pinned to a full version tag (vX.Y.Z; the
// Classroom reporter publishes only a moving v1); every `with:` key is an input of that action version and every
// required input is passed; every pinned entry is used.
func TestWorkflowPinnedActions(t *testing.T) {
	pinned := loadPinnedActions(t)
	used := map[string]bool{}
	fullTag := regexp.MustCompile(`@v\d+\.\d+\.\d+$`)
	check := func(where string, s step) {
		switch {
		case s.Uses == "":
			return
		case strings.HasPrefix(s.Uses, "./"):
			return // local; actionlint checks its inputs
		case isOurAction(s.Uses):
			return // TestWorkflowStudentExampleUsesRealInputs
		}
		p, ok := pinned[s.Uses]
		if !assert.True(t, ok, "%s: %s is not in %s (add it with its tag's commit and inputs)", where, s.Uses, pinnedActionsPath) {
			return
		}
		used[s.Uses] = true
		if !strings.HasPrefix(s.Uses, reporterAction+"@") {
			assert.Regexp(t, fullTag, s.Uses, "%s: pinned to a full version tag", where)
		}
		for key := range s.With {
			assert.Contains(t, p.Inputs, key, "%s: %s has no input %q", where, s.Uses, key)
		}
		for _, req := range p.RequiredInputs {
			assert.Contains(t, s.With, req, "%s: %s needs input %q", where, s.Uses, req)
		}
		assert.Regexp(t, `^[0-9a-f]{40}$`, p.Commit)
	}
	for _, s := range loadAction(t).Runs.Steps {
		check(actionPath+" "+s.label(), s)
	}
	for _, rel := range []string{ciWorkflowPath, studentWorkflowPath} {
		wf := loadWorkflow(t, rel)
		for _, id := range sortedKeys(wf.Jobs) {
			for _, s := range wf.Jobs[id].Steps {
				check(rel+" job "+id+" "+s.label(), s)
			}
		}
	}
	for spec := range pinned {
		assert.True(t, used[spec], "%s lists %s, which nothing uses", pinnedActionsPath, spec)
	}
}

// TestWorkflowCI: this repository's CI builds, vets, runs `make lint` and `make test` with IMAGES=upstream, turns the
// test log into junit.xml, uploads it with the reports even after a failure, and runs the grading action on the
// reference (exit 0) and the lab as written (exit 1).
func TestWorkflowCI(t *testing.T) {
	wf := loadWorkflow(t, ciWorkflowPath)
	assert.Equal(t, "upstream", wf.Env["IMAGES"], "the upstream images on GitHub")
	test, ok := wf.Jobs["test"]
	require.True(t, ok, "a test job")

	var runs []string
	var setupGo, upload *step
	for i, s := range test.Steps {
		runs = append(runs, s.Run)
		switch {
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			setupGo = &test.Steps[i]
		case strings.HasPrefix(s.Uses, "actions/upload-artifact@"):
			upload = &test.Steps[i]
		}
	}
	all := strings.Join(runs, "\n")
	for _, want := range []string{"go build ./...", "go vet ./...", "make lint", "make test IMAGES=upstream", "junit.xml"} {
		assert.Contains(t, all, want)
	}
	require.NotNil(t, setupGo)
	assert.Equal(t, "go.mod", setupGo.With["go-version-file"], "Go's version comes from go.mod")
	require.NotNil(t, upload)
	assert.Contains(t, upload.ifText(), "!cancelled()", "reports are uploaded when tests fail")
	assert.Contains(t, upload.With["path"], "junit.xml")
	assert.Contains(t, upload.With["path"], "out/")

	action, ok := wf.Jobs["grading-action"]
	require.True(t, ok, "a job runs the grading action")
	_, steps := findSteps(workflow{Jobs: map[string]job{"grading-action": action}}, func(u string) bool { return u == "./.github/actions/grade" })
	require.Len(t, steps, 1)
	assert.Contains(t, fmt.Sprint(action.Strategy), "want-exit:0")
	assert.Contains(t, fmt.Sprint(action.Strategy), "want-exit:1")
}
