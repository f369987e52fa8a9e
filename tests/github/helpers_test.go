// Package github_test checks the grader's GitHub and Gradescope adapters without a cluster: the student-facing
// composite action (.github/actions/grade), the example student workflow (docs/student-workflow.yml), this
// repository's CI workflow, the Gradescope scripts (gradescope/), and the reports each platform reads, rendered by
// grader/internal/report from recorded results (testdata/<case>/results.json).
//
// Tests whose names start with TestAction or TestWorkflow are the structural lint of the workflows and the action
// (`make lint-actions` runs them beside actionlint); the others run the scripts against a fake grader.
package github_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// Paths of the files under test, relative to the repository root.
const (
	actionPath          = ".github/actions/grade/action.yml"
	actionScriptPath    = ".github/actions/grade/grade.sh"
	actionReadmePath    = ".github/actions/grade/README.md"
	ciWorkflowPath      = ".github/workflows/ci.yml"
	studentWorkflowPath = "docs/student-workflow.yml"
	githubDocPath       = "docs/github.md"
	gradescopeDocPath   = "docs/gradescope.md"
	runAutograderPath   = "gradescope/run_autograder"
	setupPath           = "gradescope/setup.sh"
	buildZipPath        = "gradescope/build-zip.sh"
	fakeGraderPath      = "tests/github/testdata/fake-grader.sh"
	pinnedActionsPath   = "tests/github/testdata/pinned-actions.json"

	// reporterAction is GitHub Classroom's grading reporter, without its ref.
	reporterAction = "classroom-resources/autograding-grading-reporter"
	// ourActionSuffix ends the `uses:` of this repository's grading action, local or remote.
	ourActionSuffix = ".github/actions/grade"
)

// repoRoot returns the repository root (the folder holding go.mod), two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "tests/github must run from its package folder, two levels below go.mod")
	return root
}

// repoFile returns the absolute path of a file of the repository.
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

// readRepoFile returns a repository file's content.
func readRepoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, rel))
	require.NoError(t, err, "read %s", rel)
	return b
}

// --- Workflow and action files -----------------------------------------------------------------------------------

// step is one step of a workflow job or of a composite action.
type step struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	If               any            `json:"if"`
	Uses             string         `json:"uses"`
	Run              string         `json:"run"`
	Shell            string         `json:"shell"`
	With             map[string]any `json:"with"`
	Env              map[string]any `json:"env"`
	ContinueOnError  any            `json:"continue-on-error"`
	WorkingDirectory string         `json:"working-directory"`
}

// label names a step in messages.
func (s step) label() string {
	switch {
	case s.ID != "":
		return "step " + s.ID
	case s.Name != "":
		return fmt.Sprintf("step %q", s.Name)
	case s.Uses != "":
		return "step uses " + s.Uses
	}
	return "step"
}

// ifText is the step's `if:` as text ("" when absent).
func (s step) ifText() string {
	if s.If == nil {
		return ""
	}
	return fmt.Sprint(s.If)
}

// job is one job of a workflow.
type job struct {
	Name           string            `json:"name"`
	RunsOn         any               `json:"runs-on"`
	Needs          any               `json:"needs"`
	If             any               `json:"if"`
	Outputs        map[string]string `json:"outputs"`
	Env            map[string]any    `json:"env"`
	Strategy       any               `json:"strategy"`
	TimeoutMinutes any               `json:"timeout-minutes"`
	Steps          []step            `json:"steps"`
}

// needs lists the jobs this job needs.
func (j job) needs() []string {
	switch v := j.Needs.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, n := range v {
			out = append(out, fmt.Sprint(n))
		}
		return out
	}
	return nil
}

// workflow is a GitHub Actions workflow file.
type workflow struct {
	Name        string         `json:"name"`
	On          any            `json:"on"`
	Permissions any            `json:"permissions"`
	Env         map[string]any `json:"env"`
	Jobs        map[string]job `json:"jobs"`
}

// actionInput is an input of an action's metadata.
type actionInput struct {
	Description string  `json:"description"`
	Required    bool    `json:"required"`
	Default     *string `json:"default"`
}

// actionOutput is an output of a composite action's metadata.
type actionOutput struct {
	Description string `json:"description"`
	Value       string `json:"value"`
}

// actionFile is an action's metadata (action.yml).
type actionFile struct {
	Name        string                  `json:"name"`
	Description string                  `json:"description"`
	Author      string                  `json:"author"`
	Branding    map[string]string       `json:"branding"`
	Inputs      map[string]actionInput  `json:"inputs"`
	Outputs     map[string]actionOutput `json:"outputs"`
	Runs        struct {
		Using string `json:"using"`
		Steps []step `json:"steps"`
	} `json:"runs"`
}

// loadWorkflowBytes parses a workflow.
func loadWorkflowBytes(t testing.TB, data []byte) workflow {
	t.Helper()
	var wf workflow
	require.NoError(t, yaml.Unmarshal(data, &wf))
	require.NotEmpty(t, wf.Jobs, "a workflow has jobs")
	return wf
}

// loadWorkflow parses a workflow file of the repository.
func loadWorkflow(t testing.TB, rel string) workflow {
	t.Helper()
	return loadWorkflowBytes(t, readRepoFile(t, rel))
}

// loadAction parses the grading action's metadata.
func loadAction(t testing.TB) actionFile {
	t.Helper()
	var a actionFile
	require.NoError(t, yaml.UnmarshalStrict(readRepoFile(t, actionPath), &a), "action.yml has only known keys")
	return a
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// --- Expressions -------------------------------------------------------------------------------------------------

var (
	// exprRE finds ${{ ... }} expressions.
	exprRE = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	// stepOutputRE finds steps.<id>.outputs.<name> references.
	stepOutputRE = regexp.MustCompile(`\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*)`)
	// needsOutputRE finds needs.<job>.outputs.<name> references.
	needsOutputRE = regexp.MustCompile(`\bneeds\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*)`)
	// inputsRE finds inputs.<name> references.
	inputsRE = regexp.MustCompile(`\binputs\.([A-Za-z_][A-Za-z0-9_-]*)`)
)

// ref is one steps.X.outputs.Y or needs.X.outputs.Y reference, and where it was found.
type ref struct {
	Kind   string // "steps" or "needs"
	Source string // the step or job ID
	Output string
	Where  string
}

// expressionText returns the text of v (a string, or a map or list holding strings) in which expressions are looked
// for. `if:` values are expressions even without ${{ }}, so they are passed whole.
func expressionText(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for _, k := range sortedKeys(x) {
			out = append(out, expressionText(x[k])...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, expressionText(e)...)
		}
		return out
	default:
		return []string{fmt.Sprint(x)}
	}
}

// refsIn returns the output references in texts; bare says the texts are expressions themselves (an `if:`).
func refsIn(where string, bare bool, texts ...string) []ref {
	var out []ref
	for _, text := range texts {
		exprs := []string{text}
		if !bare {
			exprs = nil
			for _, m := range exprRE.FindAllStringSubmatch(text, -1) {
				exprs = append(exprs, m[1])
			}
		}
		for _, e := range exprs {
			for _, m := range stepOutputRE.FindAllStringSubmatch(e, -1) {
				out = append(out, ref{Kind: "steps", Source: m[1], Output: m[2], Where: where})
			}
			for _, m := range needsOutputRE.FindAllStringSubmatch(e, -1) {
				out = append(out, ref{Kind: "needs", Source: m[1], Output: m[2], Where: where})
			}
		}
	}
	return out
}

// stepRefs returns every output reference a step makes (if, with, env, run, name, working-directory).
func stepRefs(where string, s step) []ref {
	var out []ref
	out = append(out, refsIn(where+" if", true, expressionText(s.If)...)...)
	out = append(out, refsIn(where+" with", false, expressionText(s.With)...)...)
	out = append(out, refsIn(where+" env", false, expressionText(s.Env)...)...)
	out = append(out, refsIn(where+" run", false, s.Run, s.Name, s.WorkingDirectory)...)
	return out
}

// outputsOf tells which outputs a step that uses an action has: (outputs, true) when known, (nil, false) when the
// action is unknown (the caller reports it).
type outputsOf func(uses string) (map[string]bool, bool)

// checkWorkflowRefs returns a problem for every steps.X.outputs.Y and needs.J.outputs.Y in wf that names no earlier
// step of the same job, no job of `needs:`, or an output that the step's action or the job does not declare. Run steps
// declare the outputs their script writes as `name=` into $GITHUB_OUTPUT.
func checkWorkflowRefs(wf workflow, actionOutputs outputsOf) []string {
	var problems []string
	for _, jobID := range sortedKeys(wf.Jobs) {
		j := wf.Jobs[jobID]
		seen := map[string]step{}
		check := func(r ref) {
			switch r.Kind {
			case "steps":
				s, ok := seen[r.Source]
				if !ok {
					problems = append(problems, fmt.Sprintf("job %s, %s: steps.%s.outputs.%s: no step with id %q runs before it",
						jobID, r.Where, r.Source, r.Output, r.Source))
					return
				}
				outs, known := stepOutputs(s, actionOutputs)
				if !known {
					problems = append(problems, fmt.Sprintf("job %s, %s: steps.%s.outputs.%s: outputs of %q are unknown",
						jobID, r.Where, r.Source, r.Output, s.Uses))
					return
				}
				if !outs[r.Output] {
					problems = append(problems, fmt.Sprintf("job %s, %s: steps.%s.outputs.%s: %s has no output %q (it has %v)",
						jobID, r.Where, r.Source, r.Output, s.label(), r.Output, sortedKeys(outs)))
				}
			case "needs":
				needed := false
				for _, n := range j.needs() {
					needed = needed || n == r.Source
				}
				other, exists := wf.Jobs[r.Source]
				switch {
				case !needed:
					problems = append(problems, fmt.Sprintf("job %s, %s: needs.%s.outputs.%s: job %s is not in needs:",
						jobID, r.Where, r.Source, r.Output, r.Source))
				case !exists:
					problems = append(problems, fmt.Sprintf("job %s, %s: needs.%s.outputs.%s: no job %q",
						jobID, r.Where, r.Source, r.Output, r.Source))
				case other.Outputs[r.Output] == "":
					problems = append(problems, fmt.Sprintf("job %s, %s: needs.%s.outputs.%s: job %s declares no output %q",
						jobID, r.Where, r.Source, r.Output, r.Source, r.Output))
				}
			}
		}
		for _, r := range refsIn("if", true, expressionText(j.If)...) {
			check(r)
		}
		for i, s := range j.Steps {
			for _, r := range stepRefs(fmt.Sprintf("step %d (%s)", i+1, s.label()), s) {
				check(r)
			}
			if s.ID != "" {
				seen[s.ID] = s
			}
		}
		// Job outputs are evaluated after every step.
		for _, name := range sortedKeys(j.Outputs) {
			for _, r := range refsIn("outputs."+name, false, j.Outputs[name]) {
				check(r)
			}
		}
	}
	return problems
}

// runOutputRE finds the outputs a run script writes: name=... or name<<DELIM appended to $GITHUB_OUTPUT.
var runOutputRE = regexp.MustCompile(`(?m)\b([A-Za-z_][A-Za-z0-9_-]*)(?:=|<<)[^\n]*>>\s*"?\$\{?GITHUB_OUTPUT`)

// stepOutputs returns the outputs of a step: its action's, or those its run script writes.
func stepOutputs(s step, actionOutputs outputsOf) (map[string]bool, bool) {
	if s.Uses != "" {
		return actionOutputs(s.Uses)
	}
	outs := map[string]bool{}
	for _, m := range runOutputRE.FindAllStringSubmatch(s.Run, -1) {
		outs[m[1]] = true
	}
	return outs, true
}

// --- Pinned third-party actions ----------------------------------------------------------------------------------

// pinnedAction is one entry of testdata/pinned-actions.json.
type pinnedAction struct {
	Commit         string   `json:"commit"`
	Date           string   `json:"date"`
	Runs           string   `json:"runs"`
	Inputs         []string `json:"inputs"`
	Outputs        []string `json:"outputs"`
	RequiredInputs []string `json:"required_inputs"`
	Note           string   `json:"note"`
}

// loadPinnedActions reads testdata/pinned-actions.json: the third-party actions that may be used, by `uses:`.
func loadPinnedActions(t testing.TB) map[string]pinnedAction {
	t.Helper()
	var f struct {
		Actions map[string]pinnedAction `json:"actions"`
	}
	require.NoError(t, json.Unmarshal(readRepoFile(t, pinnedActionsPath), &f))
	require.NotEmpty(t, f.Actions)
	return f.Actions
}

// setOf makes a set of strings.
func setOf(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}

// isOurAction reports whether `uses:` names this repository's grading action (local or remote).
func isOurAction(uses string) bool {
	path := uses
	if i := strings.LastIndex(path, "@"); i >= 0 {
		path = path[:i]
	}
	return strings.HasSuffix(path, ourActionSuffix)
}

// outputsResolver resolves action outputs from the pinned list and the grading action's metadata.
func outputsResolver(t testing.TB) outputsOf {
	pinned := loadPinnedActions(t)
	ours := map[string]bool{}
	for name := range loadAction(t).Outputs {
		ours[name] = true
	}
	return func(uses string) (map[string]bool, bool) {
		if isOurAction(uses) {
			return ours, true
		}
		if p, ok := pinned[uses]; ok {
			return setOf(p.Outputs...), true
		}
		return nil, false
	}
}

// --- Scripts -----------------------------------------------------------------------------------------------------

// scriptRun is the outcome of running a script.
type scriptRun struct {
	Code   int
	Stdout string
	Stderr string
}

// runScript runs a script with exactly the given environment (plus nothing inherited) and returns its outcome.
func runScript(t testing.TB, env []string, dir string, script string, args ...string) scriptRun {
	t.Helper()
	cmd := exec.Command(script, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(t, ok, "run %s: %v\nstderr:\n%s", script, err, stderr.String())
		code = exitErr.ExitCode()
	}
	return scriptRun{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// sandboxPath returns a PATH of one folder linking only the named tools (those found on this machine), so that a
// script sees exactly them: no docker, no apt-get, no go unless asked for.
func sandboxPath(t testing.TB, tools ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bin")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue // optional tools (jq, python3, iconv, zip) may be missing; the scripts cope
		}
		require.NoError(t, os.Symlink(p, filepath.Join(dir, tool)))
	}
	return dir
}

// baseTools are what the scripts under test need from the system.
var baseTools = []string{
	"bash", "env", "cat", "cp", "mv", "rm", "mkdir", "mktemp", "chmod", "dirname", "basename", "tail", "head", "wc",
	"tr", "sed", "find", "sort", "tee", "iconv", "jq", "python3", "install", "zip", "uname", "ls",
}

// readOutputs parses a $GITHUB_OUTPUT file (name=value lines and name<<DELIM blocks).
func readOutputs(t testing.TB, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var lines []string
			for sc.Scan() && sc.Text() != delim {
				lines = append(lines, sc.Text())
			}
			out[name] = strings.Join(lines, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		require.True(t, ok, "malformed $GITHUB_OUTPUT line %q", line)
		out[name] = value
	}
	require.NoError(t, sc.Err())
	return out
}

// --- Annotations -------------------------------------------------------------------------------------------------

// annotation is a parsed workflow command such as ::error title=T::message.
type annotation struct {
	Command    string
	Properties map[string]string
	Data       string
}

// parseAnnotation parses one workflow command line the way the Actions runner does (ActionCommand.TryParseV2): the
// command up to the first space or "::", comma-separated key=value properties up to the next "::", then the data;
// properties and data are unescaped with the runner's tables (%25 last).
func parseAnnotation(line string) (annotation, error) {
	if !strings.HasPrefix(line, "::") {
		return annotation{}, fmt.Errorf("not a workflow command: %q", line)
	}
	rest := line[2:]
	end := strings.Index(rest, "::")
	if end < 0 {
		return annotation{}, fmt.Errorf("no closing :: in %q", line)
	}
	head, data := rest[:end], rest[end+2:]
	a := annotation{Properties: map[string]string{}, Data: unescapeData(data)}
	cmd, props, _ := strings.Cut(head, " ")
	a.Command = cmd
	if props != "" {
		for _, p := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return annotation{}, fmt.Errorf("property %q has no '=' in %q", p, line)
			}
			a.Properties[k] = unescapeProperty(v)
		}
	}
	return a, nil
}

// unescapeData reverses workflow-command data escaping as the runner does: %0D, then %0A, then %25, each replaced in
// turn over the whole string.
func unescapeData(s string) string {
	s = strings.ReplaceAll(s, "%0D", "\r")
	s = strings.ReplaceAll(s, "%0A", "\n")
	return strings.ReplaceAll(s, "%25", "%")
}

// unescapeProperty reverses property escaping as the runner does: %0D, %0A, %3A, %2C, then %25.
func unescapeProperty(s string) string {
	for _, m := range [][2]string{{"%0D", "\r"}, {"%0A", "\n"}, {"%3A", ":"}, {"%2C", ","}, {"%25", "%"}} {
		s = strings.ReplaceAll(s, m[0], m[1])
	}
	return s
}

// --- Recorded results --------------------------------------------------------------------------------------------

// recordedCase is one recorded results.json in testdata and what every adapter must make of it.
type recordedCase struct {
	Name            string // folder under testdata
	WantExit        int    // report.ExitCode with no pass score
	WantClassroom   string // Classroom status
	WantScore       int
	WantMax         int
	WantFailedCount int // failed or error checks, i.e. annotations
}

// recordedCases are the recorded results: the reference solution (full marks), the lab as handed out, a broken
// fixture (invalid YAML, a skipped check, escapes in messages), and a grader failure (exit 3).
var recordedCases = []recordedCase{
	{Name: "reference", WantExit: 0, WantClassroom: "pass", WantScore: 52, WantMax: 52, WantFailedCount: 0},
	{Name: "lab-as-written", WantExit: 1, WantClassroom: "fail", WantScore: 49, WantMax: 52, WantFailedCount: 5},
	{Name: "broken-fixture", WantExit: 1, WantClassroom: "fail", WantScore: 34, WantMax: 51, WantFailedCount: 12},
	{Name: "grader-error", WantExit: 3, WantClassroom: "error", WantScore: 50, WantMax: 52, WantFailedCount: 1},
}

// loadRecorded decodes testdata/<name>/results.json strictly into the grader's result types.
func loadRecorded(t testing.TB, name string) *result.Submission {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name, "results.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s result.Submission
	require.NoError(t, dec.Decode(&s), "testdata/%s/results.json follows RUBRIC.md's results.json shape", name)
	return &s
}

// writeReports renders every report of a recorded case into a fresh folder with report.WriteAll.
func writeReports(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "reports-"+name)
	require.NoError(t, report.WriteAll(dir, loadRecorded(t, name)))
	return dir
}
