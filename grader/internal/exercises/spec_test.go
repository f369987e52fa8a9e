// Tests across every exercise's static checks: the lab's own manifests pass them, the catalogue matches RUBRIC.md,
// no static check panics on malformed manifests, and a submission's static grading stays within its time budget.
package exercises_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/exercises/advisory"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex1"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex2"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex3"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

var defs = []*exercise.Definition{&ex1.Definition, &ex2.Definition, &ex3.Definition}

// labDir is where the lab's own manifests are: the repository's manifests/ when it is there, else the copies in
// testdata/lab.
func labDir(t testing.TB) string {
	t.Helper()
	repo := filepath.Join("..", "..", "..", "manifests")
	if _, err := os.Stat(filepath.Join(repo, "basic-sidecar.yaml")); err == nil {
		return repo
	}
	return filepath.Join("testdata", "lab")
}

// gradeStatic loads the submission in dir and runs the policy, every static check and the advisory static checks,
// as the grader does.
func gradeStatic(dir string) (map[string]check.Verdict, []*submission.File) {
	out := map[string]check.Verdict{}
	var files []*submission.File
	for _, d := range defs {
		f := submission.Load(dir, d.File, submission.DefaultLimits)
		files = append(files, f)
		_ = f.Violations()
		_ = f.NamespaceOverrides()
		for id, fn := range d.Static {
			if f.Err == nil {
				out[id] = fn(f)
			}
		}
	}
	out[advisory.ProbesID] = advisory.Probes(files)
	out[advisory.LimitsID] = advisory.Limits(files)
	return out, files
}

func TestLabManifestsPassStatic(t *testing.T) {
	dir := labDir(t)
	t.Logf("lab manifests from %s", dir)
	got, files := gradeStatic(dir)
	for _, f := range files {
		require.NoError(t, f.Err)
		assert.Empty(t, f.Violations(), f.Name())
		assert.Empty(t, f.NamespaceOverrides(), f.Name())
	}
	n := 0
	for _, d := range defs {
		for _, s := range d.Checks {
			if s.Kind == result.Static {
				n++
				assert.Equal(t, result.Passed, got[s.ID].Status, "%s: %s", s.ID, got[s.ID].Message)
			}
		}
	}
	assert.Equal(t, 13, n)
	// The lab has no readiness probes, and limits on only some containers.
	assert.Equal(t, result.Failed, got[advisory.ProbesID].Status)
	assert.Contains(t, got[advisory.ProbesID].Message, "basic-sidecar.yaml: Pod `web-with-sidecar`, container `web-app` has no readinessProbe")
	assert.Equal(t, result.Failed, got[advisory.LimitsID].Status)
	assert.Contains(t, got[advisory.LimitsID].Message, "advanced-sidecar.yaml: Pod `advanced-sidecar-demo`, container `web-app` has no cpu or memory limit")
	assert.NotContains(t, got[advisory.LimitsID].Message, "basic-sidecar.yaml", "exercise 1 sets every limit")
}

// The catalogue as RUBRIC.md has it: IDs in order, kinds and points.
func TestDefinitions(t *testing.T) {
	type spec struct {
		id     string
		static bool
		points int
	}
	rubric := map[string][]spec{
		"ex1": {{"ex1.manifest", true, 1}, {"ex1.containers", true, 1}, {"ex1.shared-volume", true, 1}, {"ex1.content-volume", true, 1},
			{"ex1.resources", true, 1}, {"ex1.ready", false, 2}, {"ex1.serves-page", false, 2}, {"ex1.processed", false, 3},
			{"ex1.verbatim", false, 1}, {"ex1.stable", false, 1}},
		"ex2": {{"ex2.manifest", true, 1}, {"ex2.containers", true, 1}, {"ex2.volumes", true, 1}, {"ex2.resources", true, 1},
			{"ex2.ready", false, 2}, {"ex2.routes", false, 2}, {"ex2.api-content-type", false, 1}, {"ex2.records", false, 3},
			{"ex2.severity", false, 2}, {"ex2.alerts", false, 2}, {"ex2.alert-stream", false, 1}, {"ex2.forwarder", false, 2},
			{"ex2.stable", false, 1}},
		"ex3": {{"ex3.manifest", true, 1}, {"ex3.containers", true, 1}, {"ex3.volumes", true, 1}, {"ex3.resources", true, 1},
			{"ex3.ready", false, 2}, {"ex3.app-output", false, 1}, {"ex3.app-log", false, 1}, {"ex3.summary-format", false, 2},
			{"ex3.summary-counts", false, 2}, {"ex3.errors-archive", false, 2}, {"ex3.persistence", false, 3}, {"ex3.stable", false, 1}},
	}
	maxima := map[string]int{"ex1": 14, "ex2": 20, "ex3": 18}
	files := map[string]string{"ex1": "basic-sidecar", "ex2": "advanced-sidecar", "ex3": "persistent-sidecar"}
	for _, d := range defs {
		want := rubric[d.ID]
		require.Len(t, d.Checks, len(want), d.ID)
		assert.Equal(t, files[d.ID], d.File)
		assert.NotEmpty(t, d.Title)
		total, statics := 0, 0
		for i, s := range d.Checks {
			assert.Equal(t, want[i].id, s.ID)
			assert.Equal(t, want[i].points, s.Points, s.ID)
			kind := result.Runtime
			if want[i].static {
				kind = result.Static
				statics++
				assert.NotNil(t, d.Static[s.ID], "%s has no static evaluation", s.ID)
			}
			assert.Equal(t, kind, s.Kind, s.ID)
			assert.True(t, strings.HasSuffix(s.Title, "."), "%s: the title is a sentence: %q", s.ID, s.Title)
			total += s.Points
		}
		assert.Len(t, d.Static, statics, "%s: a static evaluation for each static check, no more", d.ID)
		assert.Equal(t, maxima[d.ID], total, d.ID)
	}
}

// mutations returns variants of the objects' JSON: at every node, the value deleted, made null, an empty mapping,
// an empty list, an empty string, zero, or a long string.
func mutations(objs []map[string]any) []string {
	var out []string
	emit := func() {
		var docs []string
		for _, o := range objs {
			b, _ := json.Marshal(o)
			docs = append(docs, string(b))
		}
		out = append(out, strings.Join(docs, "\n---\n"))
	}
	replacements := []any{nil, map[string]any{}, []any{}, "", 0, strings.Repeat("/a", 50)}
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			for k, child := range n {
				delete(n, k)
				emit()
				for _, r := range replacements {
					n[k] = r
					emit()
				}
				n[k] = child
				walk(child)
			}
		case []any:
			for i, child := range n {
				for _, r := range replacements {
					n[i] = r
					emit()
				}
				n[i] = child
				walk(child)
			}
		}
	}
	for _, o := range objs {
		walk(o)
	}
	return out
}

// malformed are hand-written odd manifests; %[1]s stands for each exercise's Pod name in turn.
var malformed = []string{
	"apiVersion: v1\nkind: Pod\nmetadata: {name: %[1]s}\n",
	"apiVersion: v1\nkind: Pod\nmetadata: {name: %[1]s}\nspec: {}\n",
	"apiVersion: v1\nkind: Pod\nmetadata: {name: %[1]s}\nspec: {containers: []}\n",
	"apiVersion: v1\nkind: Pod\nmetadata: {name: %[1]s}\nspec: {containers: [{}], volumes: [{}]}\n",
	"apiVersion: v1\nkind: Pod\nmetadata: {name: %[1]s}\nspec: {initContainers: [{name: web-app, restartPolicy: Always}, {name: app}]}\n",
	`apiVersion: v1
kind: Pod
metadata: {name: %[1]s}
spec:
  containers:
  - {name: web-app, resources: {}, volumeMounts: [{name: ghost, mountPath: ""}, {name: v, mountPath: relative, subPath: ../x}]}
  - {name: log-processor, command: [""], args: ["   ", "python", ".py", "-x.py", "$(X)/p.py", "cd", "cd"]}
  - {name: log-aggregator, workingDir: "rel", command: [python, p.py], resources: {requests: {}, limits: {}}}
  - {name: app, command: [sh, -c, "cd"], volumeMounts: [{name: v, mountPath: /, subPathExpr: "$(X)"}]}
  - {name: log-sidecar, volumeMounts: [{name: v, mountPath: /x}, {name: v, mountPath: /x}]}
  - {name: log-forwarder, ports: [{containerPort: 0}]}
  volumes:
  - {name: v, configMap: {}}
  - {name: w, configMap: {name: web-content, items: [{key: "", path: ""}]}}
  - {name: p, projected: {sources: [{}, {configMap: {}}]}}
  - {name: c, persistentVolumeClaim: {claimName: ""}}
  - {name: e}
`,
	"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: log-storage}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: log-storage}\nspec: {resources: {}}\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-content}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: log-processor-config}\nbinaryData: {processor.py: aGk=}\n",
	"apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: Pod\nmetadata: {generateName: %[1]s}\n",
	"apiVersion: apps/v1\nkind: Pod\nmetadata: {name: %[1]s}\n---\napiVersion: x/v1\nkind: ConfigMap\nmetadata: {name: web-content}\n",
}

// runAll runs every static check, the advisory checks and the policy on f, turning a panic into a test failure.
func runAll(t *testing.T, what string, f *submission.File) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic on %s: %v", what, r)
		}
	}()
	for _, d := range defs {
		for id, fn := range d.Static {
			v := fn(f)
			if v.Status != result.Passed && v.Status != result.Failed {
				t.Fatalf("%s on %s: status %s", id, what, v.Status)
			}
			if v.Status == result.Failed && (v.Message == "" || v.Hint == "") {
				t.Fatalf("%s on %s: a failure without message or hint: %+v", id, what, v)
			}
		}
	}
	advisory.Probes([]*submission.File{f})
	advisory.Limits([]*submission.File{f})
	f.Violations()
	f.NamespaceOverrides()
	f.Describe()
}

func TestStaticNeverPanics(t *testing.T) {
	dir := labDir(t)
	parsed, refused := 0, 0
	for _, d := range defs {
		data, err := os.ReadFile(filepath.Join(dir, d.File+".yaml"))
		require.NoError(t, err)
		objs, err := submission.Parse(data, submission.DefaultLimits)
		require.NoError(t, err)
		var raws []map[string]any
		for _, o := range objs {
			raws = append(raws, o.Raw.DeepCopy().Object)
		}
		for i, m := range mutations(raws) {
			objs, err := submission.Parse([]byte(m), submission.DefaultLimits)
			if err != nil {
				refused++
				continue
			}
			parsed++
			runAll(t, fmt.Sprintf("%s mutation %d", d.File, i), &submission.File{Exercise: d.File, Path: d.File + ".yaml", Objects: objs})
		}
	}
	t.Logf("%d mutated manifests graded, %d refused by the loader", parsed, refused)
	assert.Greater(t, parsed, 500)

	for i, tmpl := range malformed {
		for _, name := range []string{"web-with-sidecar", "advanced-sidecar-demo", "persistent-log-demo"} {
			objs, err := submission.Parse([]byte(strings.ReplaceAll(tmpl, "%[1]s", name)), submission.DefaultLimits)
			if err != nil {
				t.Logf("malformed %d (%s) refused by the loader: %v", i, name, err)
				continue
			}
			runAll(t, fmt.Sprintf("malformed %d (%s)", i, name), &submission.File{Exercise: "x", Objects: objs})
		}
	}

	// Files the loader never makes, for robustness.
	for name, f := range map[string]*submission.File{
		"nil file":           nil,
		"empty file":         {},
		"file with an error": {Exercise: "basic-sidecar", Err: fmt.Errorf("broken")},
		"nil objects":        {Objects: []*submission.Object{nil, nil}},
		"untyped pods": {Objects: []*submission.Object{
			{Kind: "Pod", Name: "web-with-sidecar"}, {Kind: "Pod", Name: "advanced-sidecar-demo", Raw: &unstructured.Unstructured{Object: map[string]any{}}},
			{Kind: "ConfigMap", Name: "web-content"}, {Kind: "PersistentVolumeClaim", Name: "log-storage"}}},
		"empty typed objects": {Objects: []*submission.Object{
			{Kind: "Pod", Name: "web-with-sidecar", Pod: &corev1.Pod{}}, {Kind: "Pod", Name: "advanced-sidecar-demo", Pod: &corev1.Pod{}},
			{Kind: "Pod", Name: "persistent-log-demo", Pod: &corev1.Pod{}}, {Kind: "ConfigMap", Name: "web-content", ConfigMap: &corev1.ConfigMap{}},
			{Kind: "PersistentVolumeClaim", Name: "log-storage", PVC: &corev1.PersistentVolumeClaim{}}}},
	} {
		runAll(t, name, f)
	}
}

// FuzzStatic feeds arbitrary manifests through the loader and, when they load, every static check.
func FuzzStatic(f *testing.F) {
	dir := labDir(f)
	for _, d := range defs {
		data, err := os.ReadFile(filepath.Join(dir, d.File+".yaml"))
		require.NoError(f, err)
		f.Add(data)
	}
	for _, m := range malformed {
		f.Add([]byte(strings.ReplaceAll(m, "%[1]s", "web-with-sidecar")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := submission.Parse(data, submission.DefaultLimits)
		if err != nil {
			return
		}
		runAll(t, "fuzz input", &submission.File{Exercise: "basic-sidecar", Objects: objs})
	})
}

// TestStaticBudget: loading a submission, the policy and every static check take < 100 ms in total.
func TestStaticBudget(t *testing.T) {
	dir := labDir(t)
	best := time.Hour
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		gradeStatic(dir)
		best = min(best, time.Since(t0))
	}
	t.Logf("static grading of the lab's manifests: %v", best)
	assert.Less(t, best, 100*time.Millisecond)
}

func BenchmarkStatic(b *testing.B) {
	dir := labDir(b)
	for b.Loop() {
		gradeStatic(dir)
	}
}
