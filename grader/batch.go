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
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// MaxDefaultParallel caps the number of submissions DefaultParallel chooses to grade at once.
const MaxDefaultParallel = 4

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
	head := fmt.Sprintf("[%d/%d] %s", p.Done, p.Total, Printable(s.Name))
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
		line = fmt.Sprintf("%s error in %s: %s", head, shortDuration(s.Duration), Printable(msg))
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
	if !o.StaticOnly && o.RESTConfig != nil && o.Budget == nil {
		// One budget for the whole class: submissions graded at once never hold more than the cluster had free.
		if b, _, err := MeasureBudget(ctx, opts...); err == nil {
			opts = append(opts[:len(opts):len(opts)], WithBudget(b))
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

// Printable replaces the control characters of a student's directory name (which could drive a terminal) and
// invalid UTF-8 with U+FFFD, for the lines the CLI prints.
func Printable(s string) string {
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
// (opts hold a REST config) it is what the schedulable nodes have left (allocatable minus the requests of the pods
// not yet finished) divided by what a typical submission requests, CPU and memory alike, whichever allows fewer:
// the median over the class of its exercises' pods together (a container without a request counts its limit, else
// the namespace's default request; an exercise counts at most its namespace's quota), or FallbackSubmission when no
// manifest declares a pod. A hungrier submission does not make its pods wait Pending past their deadline:
// GradeClass shares a Budget among the exercises graded at once, and an exercise starts only when the budget holds
// its requests. Static-only, it is one per CPU of this machine. Either way it is at least 1 and at most
// MaxDefaultParallel. When the cluster cannot be read, it returns 1, the reason, and the error.
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
		return 1, "the cluster's free resources could not be measured", err
	}
	return clusterParallel(ctx, cs, dir, o)
}

// clampParallel keeps n within 1..MaxDefaultParallel.
func clampParallel(n int) int { return min(max(n, 1), MaxDefaultParallel) }
