// Package grader grades one Lab 7 submission: it loads the three manifests, runs every static check, runs each
// exercise in its own fresh namespace (the three in parallel) to evaluate the runtime checks, and returns the
// verdicts as a result.Submission. The CLI (grader/cmd/grader) and the tests (tests/grading) both call Grade: the
// checks are written once, in grader/internal/exercises.
package grader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/exercises/advisory"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex1"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex2"
	"github.com/sidecar-lab/grader/grader/internal/exercises/ex3"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/probe"
	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// Version is the grader's version (set at build time with -ldflags "-X github.com/sidecar-lab/grader/grader.Version=...").
var Version = "0.1.0"

// Exercises returns the exercise definitions, in order.
func Exercises() []*exercise.Definition {
	return []*exercise.Definition{&ex1.Definition, &ex2.Definition, &ex3.Definition}
}

// AdvisoryID is the ID of the group that holds the advisory checks in results.
const AdvisoryID = "adv"

// Options configure Grade.
type Options struct {
	Exercises  []string
	RESTConfig *rest.Config // nil with StaticOnly
	StaticOnly bool
	Rubric     *rubric.Rubric
	Keep       bool
	Progress   func(exercise string, c result.Check)
	Log        io.Writer
	Limits     submission.Limits
	// RunID labels this grading's namespaces (LabelRun); random by default.
	RunID string
	// ExerciseTimeout bounds one exercise's runtime scenario (wall clock); past it, its remaining checks are errors.
	ExerciseTimeout time.Duration
	// SubmissionTimeout bounds the whole grading of one submission (wall clock, waiting for the CPU budget
	// included); past it, every check still running is an error.
	SubmissionTimeout time.Duration
	// Budget, when set, is where each exercise takes its pods' CPU and memory requests from before it is applied.
	Budget *Budget
}

// Option is a functional option for Grade.
type Option func(*Options)

// WithExercises grades only the given exercises ("ex1", "ex2", "ex3").
func WithExercises(ids ...string) Option { return func(o *Options) { o.Exercises = ids } }

// WithRESTConfig grades on the cluster cfg points at.
func WithRESTConfig(cfg *rest.Config) Option { return func(o *Options) { o.RESTConfig = cfg } }

// WithKubeconfig grades on the cluster of a kubeconfig file and context ("" = current).
func WithKubeconfig(path, context string) (Option, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.WarningHandler = rest.NoWarnings{} // Pod Security "warn" notes would flood the terminal; policy is enforced elsewhere
	return WithRESTConfig(cfg), nil
}

// WithStaticOnly runs no runtime check: they are reported skipped.
func WithStaticOnly() Option { return func(o *Options) { o.StaticOnly = true } }

// WithRubricFile applies the instructor's rubric file at path (points, disabled checks, deadlines; the format of
// `grader --rubric FILE`).
func WithRubricFile(path string) (Option, error) {
	r, err := rubric.Load(path)
	if err != nil {
		return nil, err
	}
	return WithRubric(r), nil
}

// WithRubric applies an instructor's rubric.
func WithRubric(r *rubric.Rubric) Option { return func(o *Options) { o.Rubric = r } }

// WithKeep keeps the exercises' namespaces after grading.
func WithKeep(keep bool) Option { return func(o *Options) { o.Keep = keep } }

// WithProgress is called as each check's verdict is known.
func WithProgress(f func(exercise string, c result.Check)) Option {
	return func(o *Options) { o.Progress = f }
}

// WithRunID sets the value of the LabelRun label on this grading's namespaces (a Kubernetes label value).
func WithRunID(id string) Option { return func(o *Options) { o.RunID = id } }

// WithExerciseTimeout bounds each exercise's wall-clock time (default 8 minutes).
func WithExerciseTimeout(d time.Duration) Option { return func(o *Options) { o.ExerciseTimeout = d } }

// WithSubmissionTimeout bounds the whole grading of one submission (default DefaultSubmissionTimeout).
func WithSubmissionTimeout(d time.Duration) Option {
	return func(o *Options) { o.SubmissionTimeout = d }
}

// DefaultExerciseTimeout and DefaultSubmissionTimeout are the wall-clock limits of one exercise's runtime scenario
// and of one submission's whole grading. The slowest correct exercise (ex3) takes about a minute; a broken one waits
// out its deadlines in a few minutes.
const (
	DefaultExerciseTimeout   = 8 * time.Minute
	DefaultSubmissionTimeout = 15 * time.Minute
)

// errSubmissionTimeout is the cause of a grading's context when WithSubmissionTimeout's limit passes.
var errSubmissionTimeout = errors.New("the submission's grading ran past its wall-clock limit")

// WithLog sets where debug lines go (default: discarded).
func WithLog(w io.Writer) Option { return func(o *Options) { o.Log = w } }

// Grade grades the submission in dir. It always returns a result; Status is "error" (and the matching checks are
// in error) when the grader or the cluster failed.
func Grade(ctx context.Context, dir string, opts ...Option) *result.Submission {
	o := &Options{Rubric: rubric.Default(), Log: io.Discard, Limits: submission.DefaultLimits,
		ExerciseTimeout: DefaultExerciseTimeout, SubmissionTimeout: DefaultSubmissionTimeout}
	for _, f := range opts {
		f(o)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, o.SubmissionTimeout,
		fmt.Errorf("%w of %s", errSubmissionTimeout, o.SubmissionTimeout))
	defer cancel()
	if o.RunID == "" {
		o.RunID = probe.NewRun()
	}
	t0 := time.Now()
	s := &result.Submission{GraderVersion: Version, Submission: dir, Rubric: o.Rubric.Name, StartedAt: t0.UTC()}
	g := &grading{o: o, stops: &exercise.StopLog{}}
	if !o.StaticOnly {
		if o.RESTConfig == nil {
			g.infraErr = fmt.Errorf("no cluster configured (use WithRESTConfig or WithStaticOnly)")
		} else if cs, err := kubernetes.NewForConfig(o.RESTConfig); err != nil {
			g.infraErr = err
		} else {
			g.cs = cs
			if _, err := CollectLeftovers(ctx, cs); err != nil {
				g.infraErr = err
			}
		}
	}
	var defs []*exercise.Definition
	for _, d := range Exercises() {
		if len(o.Exercises) == 0 || contains(o.Exercises, d.ID) {
			defs = append(defs, d)
		}
	}
	exs := make([]result.Exercise, len(defs))
	files := make([]*submission.File, len(defs))
	var wg sync.WaitGroup
	for i, d := range defs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exs[i], files[i] = g.exercise(ctx, dir, d)
		}()
	}
	wg.Wait()
	s.Exercises = append(exs, g.advisory(files, defs))
	s.DurationS = seconds(time.Since(t0))
	s.Tally()
	return s
}

type grading struct {
	o        *Options
	cs       kubernetes.Interface
	infraErr error
	stops    *exercise.StopLog

	mu           sync.Mutex
	runtimeInfra error // the first cluster failure met while running a scenario or stopping its pods
}

// noteInfra remembers the first cluster failure met during the runtime scenarios (adv.graceful-stop, measured over
// their pods, is then an error rather than a verdict on whichever pods could be stopped).
func (g *grading) noteInfra(exercise string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.runtimeInfra == nil {
		g.runtimeInfra = fmt.Errorf("%s: %w", exercise, err)
	}
}

// exercise grades one exercise: its file, its static checks, then its runtime scenario in a fresh namespace.
func (g *grading) exercise(ctx context.Context, dir string, d *exercise.Definition) (result.Exercise, *submission.File) {
	t0 := time.Now()
	rec := check.NewRecorder(g.progress(d.ID, d.Checks))
	f := submission.Load(dir, d.File, g.o.Limits)
	for _, sp := range d.Checks {
		if g.o.Rubric.Disabled(sp.ID) {
			rec.Set(sp.ID, check.Skip("disabled by the rubric "+g.o.Rubric.Name))
		}
	}
	if f.Err != nil {
		v := check.Fail("a valid "+d.File+".yaml", f.Err.Error(),
			"put "+d.File+".yaml (or .yml) at the top of the submission and check it with 'kubectl apply --dry-run=client -f "+d.File+".yaml'")
		for _, sp := range d.Checks {
			rec.Set(sp.ID, v)
		}
		return g.finish(d, rec, t0), f
	}
	for _, sp := range d.Checks {
		if sp.Kind == result.Static {
			rec.Set(sp.ID, runStatic(d.Static[sp.ID], f))
		}
	}
	g.runtime(ctx, d, f, rec)
	return g.finish(d, rec, t0), f
}

func runStatic(fn exercise.StaticFunc, f *submission.File) (v check.Verdict) {
	if fn == nil {
		return check.Errorf("the grader has no static evaluation for this check (a grader bug)")
	}
	defer func() {
		if r := recover(); r != nil {
			v = check.Errorf("the grader crashed evaluating this check (a grader bug): %v\n%s", r, debug.Stack())
		}
	}()
	return fn(f)
}

// runtime applies the manifest in a fresh namespace and runs the exercise's scenario.
func (g *grading) runtime(ctx context.Context, d *exercise.Definition, f *submission.File, rec *check.Recorder) {
	switch {
	case g.o.StaticOnly:
		rec.SetRest(d.Checks, result.Runtime, check.Skip("static-only grading: runtime checks were not run"))
		return
	case g.infraErr != nil:
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("cluster unavailable: %v", g.infraErr))
		return
	case d.Run == nil:
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("the grader has no runtime scenario for %s (a grader bug)", d.ID))
		return
	}
	if v := f.Violations(); len(v) > 0 {
		rec.SetRest(d.Checks, result.Runtime, check.Fail(
			"a manifest the grader may run (only Pods, ConfigMaps, PersistentVolumeClaims, Services, Secrets; no host access, no privileges)",
			"it was refused before anything was applied: "+strings.Join(v, "; "),
			"remove the refused objects or fields; the lab needs none of them"))
		return
	}
	release, err := g.o.Budget.acquire(ctx, exerciseRequests(f), func(need, total Requests) {
		g.logf("%s: waiting for %s of the %s the batch shares (other exercises hold the rest)", d.ID, need, total)
	})
	if err != nil {
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("interrupted while waiting for CPU and memory on the cluster: %v", context.Cause(ctx)))
		return
	}
	defer release() // after the namespace's deletion below has been started, and the pods stopped
	ns, err := createNamespace(ctx, g.cs, d.ID, g.o.RunID)
	if ns != "" && !g.o.Keep {
		defer func() {
			if err := deleteNamespace(ctx, g.cs, ns); err != nil {
				g.logf("%s: %v", d.ID, err)
			}
		}()
	}
	if err != nil {
		g.noteInfra(d.ID, err)
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("%v", err))
		return
	}
	sess, err := kube.NewSession(g.o.RESTConfig, ns)
	if err != nil {
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("%v", err))
		return
	}
	env := &exercise.Env{Session: sess, File: f, Rec: rec, Deadlines: g.o.Rubric.Deadlines, Stops: g.stops,
		Logf: func(format string, a ...any) { g.logf(d.ID+": "+format, a...) }}
	var objs []*unstructured.Unstructured
	for _, o := range f.Objects {
		objs = append(objs, o.Raw)
	}
	if err := sess.Apply(ctx, objs); err != nil {
		if kube.IsInfra(err) {
			g.noteInfra(d.ID, err)
			rec.SetRest(d.Checks, result.Runtime, check.Errorf("%v", err))
		} else {
			rec.SetRest(d.Checks, result.Runtime, check.Fail("the manifest to be accepted by the API server", err.Error(),
				"run 'kubectl apply --dry-run=server -f "+d.File+".yaml' against a cluster to see the same error"))
		}
		return
	}
	t0 := time.Now()
	sctx, cancel := context.WithTimeoutCause(ctx, g.o.ExerciseTimeout,
		fmt.Errorf("the %s scenario ran past its wall-clock limit of %s", d.ID, g.o.ExerciseTimeout))
	err = g.safeRun(sctx, d, env)
	expired := errors.Is(sctx.Err(), context.DeadlineExceeded) // read before cancel, which sets Canceled
	cancel()
	switch {
	case expired && ctx.Err() == nil:
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("the %s scenario ran past its wall-clock limit of %s (last error: %v)", d.ID, g.o.ExerciseTimeout, err))
	case errors.Is(context.Cause(ctx), errSubmissionTimeout):
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("%v (last error: %v)", context.Cause(ctx), err))
	case err != nil && (kube.IsInfra(err) || ctx.Err() != nil):
		g.noteInfra(d.ID, err)
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("%v", err))
	case err != nil:
		rec.SetRest(d.Checks, result.Runtime, check.Fail("the scenario to run to its end", err.Error(), ""))
	default:
		rec.SetRest(d.Checks, result.Runtime, check.Errorf("not evaluated by the %s scenario (a grader bug)", d.ID))
	}
	g.blameDisruption(ctx, d, sess, rec, t0, kube.IsInfra(err) && !kube.IsDiagnosed(err))
	// adv.graceful-stop: every pod still there is stopped and timed (one the scenario stopped itself is skipped).
	for _, o := range f.Objects {
		if o.Kind == "Pod" && !g.stops.Has(d.ID, o.Name) {
			if _, err := env.StopPod(ctx, d.ID, o.Name); err != nil {
				g.logf("%s: stop %s: %v", d.ID, o.Name, err)
				if kube.IsInfra(err) {
					g.noteInfra(d.ID, err)
				}
			}
		}
	}
}

// disruptionWait is how long blameDisruption waits for the cluster to record a node's disruption after a
// scenario met a cluster failure (a restarting kubelet posts its "Starting" event once it is back).
const disruptionWait = 60 * time.Second

// blameDisruption turns the failed and errored runtime verdicts of exercise d into grader errors naming the cause
// when a node of its pods restarted or went NotReady since t0: the student's pods were not the problem. It looks
// once when the scenario ended normally or on a cluster failure it diagnosed itself, and for up to disruptionWait
// when it met another cluster failure (infra) while the API server answers; when the API server does not, its
// failure is the cause the verdicts already name.
func (g *grading) blameDisruption(ctx context.Context, d *exercise.Definition, sess *kube.Session, rec *check.Recorder, t0 time.Time, infra bool) {
	bad := false
	for _, sp := range d.Checks {
		if v, ok := rec.Get(sp.ID); ok && sp.Kind == result.Runtime && (v.Status == result.Failed || v.Status == result.Error) {
			bad = true
		}
	}
	if !bad || ctx.Err() != nil {
		return
	}
	wait := time.Duration(0)
	if infra {
		wait = disruptionWait
	}
	var what string
	deadline := time.Now().Add(wait)
	for {
		w, err := sess.NodeDisruption(ctx, t0)
		if err != nil {
			return // the API server itself fails: that is the cause the verdicts already name
		}
		if w != "" {
			what = w
			break
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	g.logf("%s: the cluster was disrupted during the grading: %s", d.ID, what)
	g.noteInfra(d.ID, kube.Infra("the cluster was disrupted: %s", what))
	rec.Revise(d.Checks, result.Runtime, func(v check.Verdict) (check.Verdict, bool) {
		if v.Status != result.Failed && v.Status != result.Error {
			return v, false
		}
		nv := check.Errorf("the cluster was disrupted during the grading, so this check could not be judged: %s (it had found: %s)", what, v.Message)
		nv.Evidence = v.Evidence
		return nv, true
	})
}

func (g *grading) safeRun(ctx context.Context, d *exercise.Definition, env *exercise.Env) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = kube.Infra("the grader crashed in the %s scenario (a grader bug): %v\n%s", d.ID, r, debug.Stack())
		}
	}()
	return d.Run(ctx, env)
}

func (g *grading) finish(d *exercise.Definition, rec *check.Recorder, t0 time.Time) result.Exercise {
	e := result.Exercise{ID: d.ID, Title: d.Title, DurationS: seconds(time.Since(t0)),
		Checks: rec.Results(d.Checks, func(s check.Spec) int { return g.o.Rubric.Points(s.ID, s.Points) })}
	e.Tally()
	return e
}

// advisory evaluates the advisory checks over every exercise graded.
func (g *grading) advisory(files []*submission.File, defs []*exercise.Definition) result.Exercise {
	t0 := time.Now()
	specs := advisory.Checks
	rec := check.NewRecorder(g.progress(AdvisoryID, specs))
	for _, sp := range specs {
		if g.o.Rubric.Disabled(sp.ID) {
			rec.Set(sp.ID, check.Skip("disabled by the rubric "+g.o.Rubric.Name))
		}
	}
	rec.Set(advisory.ProbesID, advisory.Probes(files))
	rec.Set(advisory.LimitsID, advisory.Limits(files))
	switch {
	case g.o.StaticOnly:
		rec.Set(advisory.GracefulStopID, check.Skip("static-only grading: runtime checks were not run"))
	case g.infraErr != nil:
		rec.Set(advisory.GracefulStopID, check.Errorf("cluster unavailable: %v", g.infraErr))
	case g.runtimeInfra != nil:
		rec.Set(advisory.GracefulStopID, check.Errorf("not evaluated: the cluster failed while grading %v", g.runtimeInfra))
	default:
		rec.Set(advisory.GracefulStopID, gracefulStop(g.stops.All(), g.o.Rubric.Deadlines.GracefulStop.Duration))
	}
	return g.finish(&exercise.Definition{ID: AdvisoryID, Title: "Advisory (best practices)", Checks: specs}, rec, t0)
}

func gracefulStop(stops []exercise.Stop, limit time.Duration) check.Verdict {
	if len(stops) == 0 {
		return check.Fail("at least one pod deleted and timed", "no pod ran (no exercise got as far as running a pod)",
			"make the manifests run; then every container must exit promptly on SIGTERM")
	}
	sort.Slice(stops, func(i, j int) bool { return stops[i].Exercise+stops[i].Pod < stops[j].Exercise+stops[j].Pod })
	var slow, all []string
	for _, s := range stops {
		line := fmt.Sprintf("%s pod %s: ", s.Exercise, s.Pod)
		if s.Gone {
			line += fmt.Sprintf("gone %.1f s after deletion", s.Took.Seconds())
		} else {
			line += fmt.Sprintf("still terminating after %.0f s (force-deleted)", limit.Seconds())
			slow = append(slow, s.Pod)
		}
		all = append(all, line)
	}
	if len(slow) > 0 {
		return check.Fail(fmt.Sprintf("every pod gone within %.0f s of deletion", limit.Seconds()),
			strings.Join(all, "; "),
			"a shell loop or Python running as PID 1 ignores SIGTERM: add `trap 'exit 0' TERM` (and `sleep N & wait $!` so the trap runs at once) in sh, or a signal.SIGTERM handler in Python").
			With(all...)
	}
	return check.Pass("%s", strings.Join(all, "; "))
}

func (g *grading) progress(exID string, specs []check.Spec) func(string, check.Verdict) {
	if g.o.Progress == nil {
		return nil
	}
	return func(id string, v check.Verdict) {
		for _, sp := range specs {
			if sp.ID == id {
				c := result.Check{ID: id, Title: sp.Title, Kind: sp.Kind, Status: v.Status,
					MaxPoints: g.o.Rubric.Points(id, sp.Points), Message: v.Message, Hint: v.Hint, Evidence: v.Evidence}
				if v.Status == result.Passed {
					c.Points = c.MaxPoints
				}
				g.o.Progress(exID, c)
			}
		}
	}
}

func (g *grading) logf(format string, a ...any) {
	fmt.Fprintf(g.o.Log, format+"\n", a...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
