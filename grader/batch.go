package grader

// Batch grading: every submission of a class directory, several at once, each graded by Grade (so each still grades
// its three exercises in parallel), each submission's reports written as soon as it is graded.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// MaxDefaultParallel caps the number of submissions DefaultParallel chooses to grade at once.
const MaxDefaultParallel = 4

// FallbackSubmissionCPU is the CPU (in cores) DefaultParallel assumes one submission requests when none of the
// class's manifests declares a pod it could read.
const FallbackSubmissionCPU = 0.4

// defaultRequestMilliCPU is the CPU request the exercise namespace's LimitRange gives a container that sets neither
// a request nor a limit (createNamespace); quotaMilliCPU is the namespace's ResourceQuota on requests.cpu, which
// bounds what one exercise can hold.
const (
	defaultRequestMilliCPU = 25
	quotaMilliCPU          = 1000
)

// ClassOptions configure GradeClass.
type ClassOptions struct {
	// Parallel is how many submissions are graded at once (<= 0: one at a time). DefaultParallel chooses one.
	Parallel int
	// Out, when set, is where each submission's reports go: Out/<name>/ (report.WriteAll), written as soon as that
	// submission is graded. It may not be the class directory or lie inside it.
	Out string
	// OnDone, when set, is called once per submission as it finishes (never concurrently), in finishing order.
	OnDone func(ClassProgress)
}

// ClassProgress is what OnDone is told as a submission finishes.
type ClassProgress struct {
	Done, Total int // Done submissions of Total are finished, this one included
	Submission  ClassSubmission
}

// Line is the progress line the CLI prints: "[3/20] alice 47/52 graded in 58s", or for a grading error
// "[4/20] bob error in 12s: <the error's first line>", with "; reports not written: ..." when they could not be.
func (p ClassProgress) Line() string {
	s := p.Submission
	head := fmt.Sprintf("[%d/%d] %s", p.Done, p.Total, printable(s.Name))
	var line string
	switch {
	case s.Result == nil:
		line = head + " not graded"
	case s.Result.Status == result.StatusError:
		msg := "unknown error"
		if s.Result.Error != nil {
			msg = *s.Result.Error
		}
		if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
			msg = msg[:i] + " …"
		}
		line = fmt.Sprintf("%s error in %s: %s", head, shortDuration(s.Duration), printable(msg))
	default:
		line = fmt.Sprintf("%s %d/%d graded in %s", head, s.Result.Score, s.Result.MaxScore, shortDuration(s.Duration))
	}
	if s.ReportErr != nil {
		line += "; reports not written: " + s.ReportErr.Error()
	}
	return line
}

// ClassSubmission is one graded submission of a class.
type ClassSubmission struct {
	Name     string // the directory's base name
	Dir      string // its path
	Result   *result.Submission
	Duration time.Duration
	// ReportErr is why its reports could not be written (nil when ClassOptions.Out is empty or they were).
	ReportErr error
}

// ClassResult is a graded class.
type ClassResult struct {
	Dir       string        // the class directory
	StartedAt time.Time     // when grading began (UTC)
	Duration  time.Duration // wall time of the whole batch
	Parallel  int           // submissions graded at once
	Rubric    string        // the rubric's name
	Exercises []string      // the exercises graded, in order
	// Submissions are every submission of the class, sorted by name (see ListSubmissions).
	Submissions []ClassSubmission
}

// Errored reports whether any submission's grading errored (the grader or the cluster failed: no score should be
// recorded for it) or its reports could not be written. The CLI exits 3 then.
func (c *ClassResult) Errored() bool {
	for _, s := range c.Submissions {
		if s.Result == nil || s.Result.Status == result.StatusError || s.ReportErr != nil {
			return true
		}
	}
	return false
}

// Report is c as the class reports (report.WriteClass) take it.
func (c *ClassResult) Report() *report.Class {
	rc := &report.Class{Dir: c.Dir, GraderVersion: Version, Rubric: c.Rubric, StartedAt: c.StartedAt,
		DurationS: seconds(c.Duration), Parallel: c.Parallel, Exercises: c.Exercises}
	for _, s := range c.Submissions {
		rc.Students = append(rc.Students, report.Student{Name: s.Name, Submission: s.Result})
	}
	return rc
}

// ListSubmissions returns the submissions of a class directory: the names of its sub-directories, sorted
// (case-insensitively). Hidden entries (".git", ".github"), files and symbolic links are not submissions.
func ListSubmissions(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read submissions directory: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.IsDir() {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := strings.ToLower(names[i]), strings.ToLower(names[j])
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	return names, nil
}

// ClassSubmissions returns the submissions of the class in dir (ListSubmissions) after checking that the class can
// be graded with its reports in out ("" = no reports): dir holds at least one submission, out is neither dir nor
// inside it, and no submission has the name of a class report (report.ClassFiles).
func ClassSubmissions(dir, out string) ([]string, error) {
	names, err := ListSubmissions(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no submission (one sub-directory per submission; hidden ones are ignored)", dir)
	}
	if out != "" {
		if err := checkOut(dir, out); err != nil {
			return nil, err
		}
		for _, n := range names {
			for _, f := range report.ClassFiles {
				if n == f {
					return nil, fmt.Errorf("submission %q has the name of a class report written next to it; rename the directory", n)
				}
			}
		}
	}
	return names, nil
}

// GradeClass grades every submission of dir (each sub-directory, see ListSubmissions) with Grade and opts,
// co.Parallel submissions at a time, and returns them sorted by name. It fails before grading anything when
// ClassSubmissions(dir, co.Out) does. Otherwise a submission's problems (including a grader error or a panic) are in its Result,
// and a context cancelled before a submission started leaves it with an error Result ("interrupted").
func GradeClass(ctx context.Context, dir string, co ClassOptions, opts ...Option) (*ClassResult, error) {
	names, err := ClassSubmissions(dir, co.Out)
	if err != nil {
		return nil, err
	}
	o := options(opts)
	if !o.StaticOnly && o.RESTConfig != nil && o.CPUBudget == nil {
		// One budget for the whole class: submissions graded at once never hold more CPU than the cluster had free.
		if b, _, err := MeasureCPUBudget(ctx, opts...); err == nil {
			opts = append(opts[:len(opts):len(opts)], WithCPUBudget(b))
		}
	}
	c := &ClassResult{Dir: dir, StartedAt: time.Now().UTC(), Parallel: max(co.Parallel, 1), Rubric: o.Rubric.Name}
	for _, d := range Exercises() {
		if len(o.Exercises) == 0 || contains(o.Exercises, d.ID) {
			c.Exercises = append(c.Exercises, d.ID)
		}
	}
	c.Submissions = make([]ClassSubmission, len(names))
	sem := make(chan struct{}, c.Parallel)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	t0 := time.Now()
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := ClassSubmission{Name: name, Dir: filepath.Join(dir, name)}
			interrupted := ctx.Err() != nil
			if !interrupted {
				select {
				case sem <- struct{}{}:
					if interrupted = ctx.Err() != nil; !interrupted {
						sub.Result, sub.Duration = gradeOne(ctx, sub.Dir, opts)
					}
					<-sem
				case <-ctx.Done():
					interrupted = true
				}
			}
			if interrupted {
				sub.Result = notGraded(sub.Dir, "interrupted: the batch was stopped before this submission was graded")
			}
			if co.Out != "" {
				sub.ReportErr = report.WriteAll(filepath.Join(co.Out, name), sub.Result)
			}
			c.Submissions[i] = sub
			mu.Lock()
			defer mu.Unlock()
			done++
			if co.OnDone != nil {
				co.OnDone(ClassProgress{Done: done, Total: len(names), Submission: sub})
			}
		}()
	}
	wg.Wait()
	c.Duration = time.Since(t0)
	return c, nil
}

// gradeOne grades one submission; a panic becomes an error result rather than the end of the batch.
func gradeOne(ctx context.Context, dir string, opts []Option) (s *result.Submission, took time.Duration) {
	t0 := time.Now()
	defer func() {
		if r := recover(); r != nil {
			s = notGraded(dir, fmt.Sprintf("the grader crashed grading this submission (a grader bug): %v\n%s", r, debug.Stack()))
		}
		took = time.Since(t0)
	}()
	return Grade(ctx, dir, opts...), 0
}

// notGraded is the result of a submission the batch could not grade.
func notGraded(dir, msg string) *result.Submission {
	return &result.Submission{GraderVersion: Version, Submission: dir, StartedAt: time.Now().UTC(),
		Status: result.StatusError, Error: &msg}
}

// checkOut refuses an output directory that is the class directory or inside it (it would be graded as a
// submission next time, and the reports would land among the students' files).
func checkOut(dir, out string) error {
	d, err1 := filepath.Abs(dir)
	o, err2 := filepath.Abs(out)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	// out may not exist yet: resolve its longest existing parent.
	rest := ""
	for p := o; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			o = filepath.Join(r, rest)
			break
		}
		if filepath.Dir(p) == p {
			break
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
	if rel, err := filepath.Rel(d, o); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("the output directory %s is inside the submissions directory %s; write the reports elsewhere", out, dir)
	}
	return nil
}

func options(opts []Option) *Options {
	o := &Options{Rubric: rubric.Default(), Limits: submission.DefaultLimits}
	for _, f := range opts {
		f(o)
	}
	return o
}

// printable replaces the control characters of a student's directory name (which could drive a terminal) and
// invalid UTF-8 with U+FFFD, for the lines the CLI prints.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func shortDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	if d < 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// DefaultParallel chooses how many submissions of the class in dir to grade at once, and says why. On a cluster
// (opts hold a REST config) it is the CPU the schedulable nodes have left (allocatable minus the requests of the pods
// not yet finished) divided by the CPU a typical submission requests: the median over the class of its exercises'
// pods together (a container without a request counts its limit, else the namespace's default request; an exercise
// counts at most its namespace's quota), or FallbackSubmissionCPU when no manifest declares a pod. A hungrier
// submission does not make its pods wait Pending past their deadline: GradeClass shares a CPUBudget among the
// exercises graded at once, and an exercise starts only when the budget holds its requests.
// Static-only, it is one per CPU of this machine. Either way it is at least 1 and at most MaxDefaultParallel. When
// the cluster cannot be read, it returns 1, the reason, and the error.
func DefaultParallel(ctx context.Context, dir string, opts ...Option) (int, string, error) {
	o := options(opts)
	if o.StaticOnly {
		n := clampParallel(runtime.NumCPU())
		return n, fmt.Sprintf("static-only grading needs no cluster: one per CPU of this machine (%d), at most %d", runtime.NumCPU(), MaxDefaultParallel), nil
	}
	if o.RESTConfig == nil {
		return 1, "no cluster to measure", errors.New("no cluster configured")
	}
	cs, err := kubernetes.NewForConfig(o.RESTConfig)
	if err != nil {
		return 1, "the cluster's free CPU could not be measured", err
	}
	return clusterParallel(ctx, cs, dir, o)
}

// clampParallel keeps n within 1..MaxDefaultParallel.
func clampParallel(n int) int { return min(max(n, 1), MaxDefaultParallel) }

// clusterParallel is DefaultParallel on the cluster cs.
func clusterParallel(ctx context.Context, cs kubernetes.Interface, dir string, o *Options) (int, string, error) {
	perSub, who := classRequest(dir, o)
	free, why, err := freeMilliCPU(ctx, cs)
	if err != nil {
		return 1, "the cluster's free CPU could not be measured", err
	}
	n := clampParallel(int(free / perSub))
	return n, fmt.Sprintf("%.2f CPU free (%s) ÷ %.2f CPU requested per submission (%s) = %.1f, kept within 1..%d",
		float64(free)/1000, why, float64(perSub)/1000, who, float64(free)/float64(perSub), MaxDefaultParallel), nil
}

// classRequest is the CPU (millicores) a typical submission of dir requests (the median of those that declare a
// pod), and a phrase saying so. GradeClass's CPU budget, not this number, keeps a hungrier submission from starting
// while others hold the CPU it needs.
func classRequest(dir string, o *Options) (int64, string) {
	names, _ := ListSubmissions(dir)
	var reqs []int64
	for _, n := range names {
		var sum int64
		for _, d := range Exercises() {
			if len(o.Exercises) > 0 && !contains(o.Exercises, d.ID) {
				continue
			}
			f := submission.Load(filepath.Join(dir, n), d.File, o.Limits)
			if f.Err != nil {
				continue // refused or unreadable: nothing of it runs
			}
			sum += exerciseMilliCPU(f)
		}
		if sum > 0 {
			reqs = append(reqs, sum)
		}
	}
	if len(reqs) == 0 {
		return int64(FallbackSubmissionCPU * 1000), "no pod found in the manifests: the fallback"
	}
	slices.Sort(reqs)
	return reqs[len(reqs)/2], fmt.Sprintf("the median of %d submissions", len(reqs))
}

// podMilliCPU is the CPU a pod requests, as the scheduler counts it: its containers (and sidecar init containers)
// together, or its largest init container if that is more, plus its overhead. A container without a CPU request
// counts its limit (the API server defaults the request to it), else dflt.
func podMilliCPU(spec *corev1.PodSpec, dflt int64) int64 {
	req := func(r corev1.ResourceRequirements) int64 {
		if q, ok := r.Requests[corev1.ResourceCPU]; ok {
			return q.MilliValue()
		}
		if q, ok := r.Limits[corev1.ResourceCPU]; ok {
			return q.MilliValue()
		}
		return dflt
	}
	var sum, initMax int64
	for _, c := range spec.Containers {
		sum += req(c.Resources)
	}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum += req(c.Resources)
		} else {
			initMax = max(initMax, req(c.Resources))
		}
	}
	total := max(sum, initMax)
	if q, ok := spec.Overhead[corev1.ResourceCPU]; ok {
		total += q.MilliValue()
	}
	return total
}

// freeMilliCPU is the allocatable CPU of the Ready, schedulable nodes minus the requests of the pods that are bound
// to them or not yet bound, and not finished.
func freeMilliCPU(ctx context.Context, cs kubernetes.Interface) (int64, string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nl, err := cs.CoreV1().Nodes().List(cctx, metav1.ListOptions{})
	if err != nil {
		return 0, "", fmt.Errorf("list nodes: %w", err)
	}
	nodes := map[string]bool{}
	var alloc int64
	for _, n := range nl.Items {
		if !schedulable(&n) {
			continue
		}
		nodes[n.Name] = true
		q := n.Status.Allocatable[corev1.ResourceCPU]
		alloc += q.MilliValue()
	}
	if len(nodes) == 0 {
		return 0, "", fmt.Errorf("no Ready, schedulable node among %d", len(nl.Items))
	}
	pl, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(cctx, metav1.ListOptions{
		FieldSelector: "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)})
	if err != nil {
		return 0, "", fmt.Errorf("list pods: %w", err)
	}
	var used int64
	pods := 0
	for _, p := range pl.Items {
		if p.Spec.NodeName != "" && !nodes[p.Spec.NodeName] {
			continue
		}
		used += podMilliCPU(&p.Spec, 0)
		pods++
	}
	free := max(alloc-used, 0)
	return free, fmt.Sprintf("%.2f allocatable on %d node(s) − %.2f requested by %d pods",
		float64(alloc)/1000, len(nodes), float64(used)/1000, pods), nil
}

// schedulable reports whether new pods can land on n: Ready, not cordoned, no NoSchedule or NoExecute taint.
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
