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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sidecar-lab/grader/grader/internal/submission"
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

func cpu(s string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(s)}
}

func TestPodMilliCPU(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	c := func(req, lim string) corev1.Container {
		var r corev1.ResourceRequirements
		if req != "" {
			r.Requests = cpu(req)
		}
		if lim != "" {
			r.Limits = cpu(lim)
		}
		return corev1.Container{Resources: r}
	}
	for name, tc := range map[string]struct {
		spec corev1.PodSpec
		want int64
	}{
		"requests":                     {corev1.PodSpec{Containers: []corev1.Container{c("50m", "100m"), c("25m", "")}}, 75},
		"a limit stands for a request": {corev1.PodSpec{Containers: []corev1.Container{c("", "200m")}}, 200},
		"neither: the default":         {corev1.PodSpec{Containers: []corev1.Container{c("", ""), c("", "")}}, 50},
		"a big init container":         {corev1.PodSpec{InitContainers: []corev1.Container{c("1", "")}, Containers: []corev1.Container{c("100m", "")}}, 1000},
		"a sidecar init container":     {corev1.PodSpec{InitContainers: []corev1.Container{func() corev1.Container { x := c("30m", ""); x.RestartPolicy = &always; return x }()}, Containers: []corev1.Container{c("100m", "")}}, 130},
		"overhead":                     {corev1.PodSpec{Containers: []corev1.Container{c("100m", "")}, Overhead: cpu("10m")}, 110},
	} {
		assert.Equal(t, tc.want, podMilliCPU(&tc.spec, 25), name)
	}
}

func TestClassRequest(t *testing.T) {
	dir := class(t)
	got, who := classRequest(dir, options(nil))
	// reference: ex1 50m+25m, ex2 50m+100m+25m, ex3 50m+25m; missing-persistent has no ex3: 250m.
	assert.Equal(t, int64(325), got)
	assert.Equal(t, "the median of 4 submissions", who)
	got, _ = classRequest(dir, options([]Option{WithExercises("ex1")}))
	assert.Equal(t, int64(75), got)

	// One hungry submission does not set the pace of the class (the CPU budget holds it back instead); its
	// exercises count at most their namespace's quota.
	hungry := filepath.Join(dir, "hungry")
	require.NoError(t, os.Mkdir(hungry, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hungry, "basic-sidecar.yaml"), []byte(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: c, image: busybox:1.35, resources: {requests: {cpu: "7"}}}
`), 0o644))
	f := submission.Load(hungry, "basic-sidecar", submission.DefaultLimits)
	require.NoError(t, f.Err)
	assert.Equal(t, int64(quotaMilliCPU), exerciseMilliCPU(f))
	got, who = classRequest(dir, options(nil))
	assert.Equal(t, int64(325), got)
	assert.Equal(t, "the median of 5 submissions", who)

	empty := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(empty, "nobody"), 0o755))
	got, who = classRequest(empty, options(nil))
	assert.Equal(t, int64(FallbackSubmissionCPU*1000), got)
	assert.Contains(t, who, "fallback")
}

func TestCPUBudget(t *testing.T) {
	ctx := context.Background()
	b := NewCPUBudget(1000)
	var waited []int64
	wait := func(need, total int64) { waited = append(waited, need) }
	r1, err := b.acquire(ctx, 600, wait)
	require.NoError(t, err)
	r2, err := b.acquire(ctx, 400, wait)
	require.NoError(t, err)
	assert.Empty(t, waited, "1000m fit in the budget without waiting")

	got := make(chan struct{})
	go func() {
		r3, err := b.acquire(ctx, 5000, wait) // more than the budget: runs alone, holding all of it
		if err == nil {
			close(got)
			r3()
		}
	}()
	select {
	case <-got:
		t.Fatal("an exercise started while others held the CPU it needs")
	case <-time.After(100 * time.Millisecond):
	}
	r1()
	select {
	case <-got:
		t.Fatal("an exercise needing the whole budget started while 400m were still held")
	case <-time.After(100 * time.Millisecond):
	}
	r2()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the hungry exercise never started once the budget was free")
	}
	assert.Equal(t, []int64{1000}, waited, "the wait is reported once, with the need capped at the budget")

	cctx, cancel := context.WithCancel(ctx)
	hold, err := b.acquire(ctx, 1000, nil)
	require.NoError(t, err)
	cancel()
	_, err = b.acquire(cctx, 1, nil)
	assert.ErrorIs(t, err, context.Canceled, "a cancelled grading stops waiting")
	hold()

	var none *CPUBudget
	r, err := none.acquire(ctx, 1<<40, nil)
	require.NoError(t, err)
	r()
	r, err = NewCPUBudget(0).acquire(ctx, 100, func(int64, int64) { t.Error("a zero budget never waits") })
	require.NoError(t, err)
	r()
}

func node(name string, alloc string, ready bool, taints ...corev1.Taint) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Allocatable: cpu(alloc), Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
}

func pod(ns, name, nodeName, req string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: nodeName,
		Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: cpu(req)}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func TestClusterParallel(t *testing.T) {
	dir := class(t)
	cs := fake.NewClientset(
		node("worker", "2", true),
		node("tainted", "8", true, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}),
		node("down", "8", false),
		pod("kube-system", "apiserver", "worker", "750m"),
		pod("other", "elsewhere", "tainted", "4"),
		pod("other", "pending", "", "100m"),
	)
	n, why, err := clusterParallel(context.Background(), cs, dir, options(nil))
	require.NoError(t, err)
	// (2000m - 750m - 100m) / 325m = 3.5
	assert.Equal(t, 3, n)
	assert.Equal(t, "1.15 CPU free (2.00 allocatable on 1 node(s) − 0.85 requested by 2 pods) ÷ 0.33 CPU requested per submission (the median of 4 submissions) = 3.5, kept within 1..4", why)

	big := fake.NewClientset(node("big", "64", true))
	n, why, err = clusterParallel(context.Background(), big, dir, options(nil))
	require.NoError(t, err)
	assert.Equal(t, MaxDefaultParallel, n, why)

	full := fake.NewClientset(node("full", "1", true), pod("a", "b", "full", "1500m"))
	n, why, err = clusterParallel(context.Background(), full, dir, options(nil))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "at least one, even on a full cluster: %s", why)

	none := fake.NewClientset(node("down", "8", false))
	n, _, err = clusterParallel(context.Background(), none, dir, options(nil))
	assert.ErrorContains(t, err, "no Ready, schedulable node")
	assert.Equal(t, 1, n)
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
