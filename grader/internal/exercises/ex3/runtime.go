package ex3

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/kube"
)

// The scenario refers to Definition.Checks, so it is attached here rather than in the literal (an init cycle).
func init() { Definition.Run = run }

const (
	pod        = "persistent-log-demo"
	app        = "app"
	aggregator = "log-aggregator"
	claim      = "log-storage"
	summary    = "/persistent-logs/summary.log"
	errorsLog  = "/persistent-logs/errors.log"
	// cycleSlack is how far the aggregator's summary may lag the application log: one lab cycle (10 s) and margin.
	cycleSlack = 13 * time.Second
)

var (
	appLine     = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\d{3} - ([A-Z]+) - .+$`)
	summaryLine = regexp.MustCompile(`^.+: INFO:(\d+), WARN:(\d+), ERROR:(\d+)$`)
	generated   = regexp.MustCompile(`Generated log entry #\d+`)
)

// run is exercise 3's scenario: the app logs, the aggregator keeps a summary and an errors archive on the PVC,
// and the summary survives the pod's deletion and re-creation.
func run(ctx context.Context, e *exercise.Env) error {
	ok, err := e.CheckReadyWith(ctx, readyCheck(e))
	if err != nil {
		return err // the cluster failed: every check left is an error, none a failure
	}
	if !ok {
		e.NotEvaluated(Definition.Checks, "the Pod (with its PVC) never became Ready")
		return nil
	}
	before, err := e.Restarts(ctx, pod)
	if err != nil {
		return err
	}
	evidence := func() []string { return e.Evidence(ctx, pod, exercise.EvidenceTail) }

	// Where does the app write application.log? Somewhere in the emptyDir it shares with the aggregator.
	appLog, err := findAppLog(ctx, e)
	if err != nil {
		return err
	}
	if appLog == "" {
		v := check.Fail("application.log in the emptyDir shared by app and log-aggregator",
			"no application.log in log-aggregator's mounts within "+e.Deadlines.ProbeLine.String(),
			"the app logs to application.log in a directory that is an emptyDir mounted in both containers").With(evidence()...)
		for _, id := range []string{"ex3.app-output", "ex3.app-log", "ex3.summary-format", "ex3.summary-counts", "ex3.errors-archive"} {
			e.Rec.Set(id, v)
		}
	} else {
		e.Logf("application log at %s", appLog)
		v, err := appOutput(ctx, e, evidence)
		if err != nil {
			return err
		}
		e.Rec.Set("ex3.app-output", v)
		if v, err = appLogCheck(ctx, e, appLog); err != nil {
			return err
		}
		e.Rec.Set("ex3.app-log", v)
		if err := aggregate(ctx, e, appLog, evidence); err != nil {
			return err
		}
	}
	stable, err := e.Stable(ctx, pod, before)
	if err != nil {
		return err
	}
	if err := persistence(ctx, e); err != nil {
		return err
	}
	if stable.Status == "passed" && e.Rec.Has("ex3.persistence") {
		// the re-created pod must not restart either
		if stable, err = restartsAfter(ctx, e); err != nil {
			return err
		}
	}
	e.Rec.Set("ex3.stable", stable)
	return nil
}

// findAppLog looks for application.log under log-aggregator's mount of the shared emptyDir (any path the student
// chose), then under any of its mounts.
func findAppLog(ctx context.Context, e *exercise.Env) (string, error) {
	p := e.File.Pod(pod)
	var dirs []string
	if _, paths, ok := exercise.SharedEmptyDir(p, app, aggregator); ok {
		dirs = append(dirs, paths[aggregator])
	}
	for _, m := range exercise.Mounts(p, aggregator) {
		dirs = append(dirs, m.MountPath)
	}
	var found string
	err := kube.Poll(ctx, e.Deadlines.ProbeLine.Duration, time.Second, func(ctx context.Context) (bool, error) {
		for _, d := range dirs {
			res, err := e.Exec(ctx, pod, aggregator, []string{"find", d, "-maxdepth", "4", "-name", "application.log", "-type", "f"}, 10*time.Second)
			if kube.IsInfra(err) {
				return false, err
			}
			if err != nil {
				continue
			}
			if l := exercise.Lines(res.Stdout); len(l) > 0 {
				found = l[0]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil && err != kube.ErrTimeout {
		return "", err
	}
	return found, nil
}

// appOutput: the app's "Generated log entry #n" lines reach its container log promptly (not block-buffered). err
// is an InfraError: the cluster failed.
func appOutput(ctx context.Context, e *exercise.Env, evidence func() []string) (check.Verdict, error) {
	var log string
	err := kube.Poll(ctx, e.Deadlines.ProbeLine.Duration, time.Second, func(ctx context.Context) (bool, error) {
		l, err := e.Logs(ctx, pod, app, kube.LogOptions{})
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		log = l
		return generated.MatchString(l), nil
	})
	if kube.IsInfra(err) {
		return check.Verdict{}, err
	}
	if err == nil {
		m := generated.FindAllString(log, -1)
		return check.Pass("app's log shows %q promptly", m[len(m)-1]), nil
	}
	return check.Fail(fmt.Sprintf("`Generated log entry #n` in app's container log within %s of the app logging", e.Deadlines.ProbeLine.Duration),
		"none yet, though application.log is growing",
		"Python block-buffers stdout when it is not a terminal: print(..., flush=True), python -u, or PYTHONUNBUFFERED=1").With(evidence()...), nil
}

// appEntry is one parsed line of application.log.
type appEntry struct {
	line  string
	at    time.Time
	level string
}

func parseAppLog(text string) (entries []appEntry, bad []string) {
	for _, l := range exercise.Lines(text) {
		m := appLine.FindStringSubmatch(l)
		if m == nil {
			bad = append(bad, l)
			continue
		}
		at, _ := time.Parse("2006-01-02 15:04:05", m[1])
		entries = append(entries, appEntry{line: l, at: at, level: m[2]})
	}
	return entries, bad
}

func (e3 *files) read(ctx context.Context, e *exercise.Env, appLog string) error {
	res, err := e.Exec(ctx, pod, aggregator, []string{"sh", "-c",
		`cat "$1" 2>/dev/null; echo "@@sidecar-lab@@"; cat "$2" 2>/dev/null; echo "@@sidecar-lab@@"; cat "$3" 2>/dev/null; echo "@@sidecar-lab@@"; test -f "$3" && echo yes`,
		"sh", appLog, summary, errorsLog}, 15*time.Second)
	if err != nil {
		return err
	}
	parts := strings.Split(res.Stdout, "@@sidecar-lab@@\n")
	if len(parts) != 4 {
		return fmt.Errorf("unexpected output reading the logs: %q", res.Stdout)
	}
	e3.app, e3.summary, e3.errors, e3.errorsExist = parts[0], parts[1], parts[2], strings.TrimSpace(parts[3]) == "yes"
	return nil
}

// files is one simultaneous read of application.log, summary.log and errors.log.
type files struct {
	app, summary, errors string
	errorsExist          bool
}

// appLogCheck: application.log grows with well-formed lines. err is an InfraError: the cluster failed.
func appLogCheck(ctx context.Context, e *exercise.Env, appLog string) (check.Verdict, error) {
	var first, last []appEntry
	var bad []string
	err := kube.Poll(ctx, e.Deadlines.ProbeLine.Duration+5*time.Second, time.Second, func(ctx context.Context) (bool, error) {
		var f files
		if err := f.read(ctx, e, appLog); err != nil {
			return false, kube.OnlyInfra(err)
		}
		entries, b := parseAppLog(f.app)
		bad = b
		if first == nil {
			first = entries
		}
		last = entries
		return len(bad) == 0 && len(last) > len(first), nil
	})
	switch {
	case kube.IsInfra(err):
		return check.Verdict{}, err
	case len(bad) > 0:
		return check.Fail("every line of application.log as `YYYY-MM-DD HH:MM:SS,mmm - LEVEL - message`", exercise.ShowLine(bad[0]),
			"configure logging with format='%(asctime)s - %(levelname)s - %(message)s'"), nil
	case err != nil:
		return check.Fail("application.log to grow", fmt.Sprintf("%d lines, then %d", len(first), len(last)), "the app must keep logging every few seconds"), nil
	}
	return check.Pass("application.log grew from %d to %d well-formed lines", len(first), len(last)), nil
}

// aggregate waits for the app's first ERROR, then checks the summary and the errors archive on the PVC. It returns
// an InfraError (the cluster failed) or nil.
func aggregate(ctx context.Context, e *exercise.Env, appLog string, evidence func() []string) error {
	var f files
	// The lab's app logs its first ERROR after ten entries, 2-5 s apart.
	err := kube.Poll(ctx, e.Deadlines.FirstError.Duration, time.Second, func(ctx context.Context) (bool, error) {
		if err := f.read(ctx, e, appLog); err != nil {
			return false, kube.OnlyInfra(err)
		}
		entries, _ := parseAppLog(f.app)
		return count(entries, "ERROR") > 0, nil
	})
	e.Logf("waited for the app's first ERROR line: %v", err)
	if kube.IsInfra(err) {
		return err
	}
	if err != nil {
		e.Rec.Set("ex3.errors-archive", check.Fail(fmt.Sprintf("an ERROR line in application.log within %s", e.Deadlines.FirstError.Duration),
			"none", "keep the lab's app: every 10th entry is an ERROR").With(evidence()...))
	}
	var counts, archive check.Verdict
	err = kube.Poll(ctx, e.Deadlines.Aggregator.Duration, time.Second, func(ctx context.Context) (bool, error) {
		if err := f.read(ctx, e, appLog); err != nil {
			return false, kube.OnlyInfra(err)
		}
		entries, _ := parseAppLog(f.app)
		counts = summaryCounts(f.summary, entries)
		archive = errorsArchive(f, entries)
		return counts.Status == "passed" && (archive.Status == "passed" || e.Rec.Has("ex3.errors-archive")), nil
	})
	e.Rec.Set("ex3.summary-format", summaryFormat(f.summary))
	e.Rec.Set("ex3.summary-counts", counts.With(tail("summary.log", f.summary, 8)))
	if kube.IsInfra(err) {
		return err
	}
	e.Rec.Set("ex3.errors-archive", archive.With(tail("errors.log", f.errors, 8)))
	return nil
}

func count(entries []appEntry, level string) int {
	n := 0
	for _, e := range entries {
		if e.level == level {
			n++
		}
	}
	return n
}

func summaryFormat(text string) check.Verdict {
	lines := exercise.Lines(text)
	if len(lines) == 0 {
		return check.Fail("summary lines in "+summary, "an empty or missing file", "the aggregator appends a summary line every cycle to /persistent-logs/summary.log")
	}
	for i, l := range lines {
		if !summaryLine.MatchString(l) {
			return check.Fail("every line `<date>: INFO:<n>, WARN:<n>, ERROR:<n>`", fmt.Sprintf("line %d: %s", i+1, exercise.ShowLine(l)),
				"`grep -c` prints 0 and exits 1 when nothing matches, so `$(grep -c X f || echo 0)` yields \"0\\n0\": use `|| true`").
				With(tail("summary.log", text, 12))
		}
	}
	return check.Pass("%d summary lines, all well formed", len(lines))
}

// summaryCounts: the latest summary line's counts equal application.log's as of that line, with one cycle's slack
// (entries newer than the slack, measured by the app log's own clock, may or may not be counted yet).
func summaryCounts(text string, entries []appEntry) check.Verdict {
	lines := exercise.Lines(text)
	if len(lines) == 0 {
		return check.Fail("a summary line", "no summary.log lines", "")
	}
	last := lines[len(lines)-1]
	m := summaryLine.FindStringSubmatch(last)
	if m == nil {
		return check.Fail("the latest summary line `<date>: INFO:<n>, WARN:<n>, ERROR:<n>`", exercise.ShowLine(last), "")
	}
	if len(entries) == 0 {
		return check.Fail("application.log entries to compare with", "none", "")
	}
	newest := entries[len(entries)-1].at
	var msgs []string
	for i, lv := range []string{"INFO", "WARNING", "ERROR"} {
		got, _ := strconv.Atoi(m[i+1])
		all, old := 0, 0
		for _, en := range entries {
			if en.level == lv {
				all++
				if !en.at.After(newest.Add(-cycleSlack)) {
					old++
				}
			}
		}
		if got < old || got > all {
			msgs = append(msgs, fmt.Sprintf("%s:%d where application.log has %d (%d older than one cycle)", strings.TrimSuffix(lv, "ING"), got, all, old))
		}
	}
	if len(msgs) > 0 {
		return check.Fail("the latest summary's counts to equal application.log's (one cycle's slack)", strings.Join(msgs, "; "),
			"count lines by their level field (` - INFO - `, ` - WARNING - `, ` - ERROR - `) with grep -c")
	}
	return check.Pass("latest summary %q matches application.log", last)
}

// errorsArchive: errors.log holds exactly application.log's ERROR lines (those newer than a cycle may be missing).
func errorsArchive(f files, entries []appEntry) check.Verdict {
	var want []string
	newest := time.Time{}
	if len(entries) > 0 {
		newest = entries[len(entries)-1].at
	}
	must := 0
	for _, en := range entries {
		if en.level == "ERROR" {
			want = append(want, en.line)
			if !en.at.After(newest.Add(-cycleSlack)) {
				must = len(want)
			}
		}
	}
	got := exercise.Lines(f.errors)
	if len(want) == 0 {
		return check.Fail("application.log to have ERROR lines to archive", "none yet", "keep the lab's app: every 10th entry is an ERROR")
	}
	if !f.errorsExist {
		return check.Fail(errorsLog+" holding application.log's ERROR lines", "no such file", "grep the ERROR lines into /persistent-logs/errors.log each cycle")
	}
	if len(got) < must || len(got) > len(want) {
		return check.Fail(fmt.Sprintf("errors.log to hold application.log's %d ERROR lines", len(want)), fmt.Sprintf("%d lines", len(got)), "")
	}
	for i, l := range got {
		if l != want[i] {
			return check.Fail("errors.log line "+strconv.Itoa(i+1)+" = "+exercise.ShowLine(want[i]), exercise.ShowLine(l),
				"write exactly the ERROR lines: grep ' - ERROR - ' application.log > errors.log")
		}
	}
	return check.Pass("errors.log holds the %d ERROR lines of application.log", len(got))
}

// persistence deletes the pod, re-creates it from the same manifest, and checks that summary.log kept its lines
// and grows.
func persistence(ctx context.Context, e *exercise.Env) error {
	id := "ex3.persistence"
	res, err := e.Exec(ctx, pod, aggregator, []string{"cat", summary}, 10*time.Second)
	if kube.IsInfra(err) {
		return err
	}
	if err != nil || res.ExitCode != 0 || len(exercise.Lines(res.Stdout)) == 0 {
		e.Rec.Set(id, check.Fail("summary.log with lines before the pod is deleted", "none", "the aggregator writes /persistent-logs/summary.log on the PVC"))
		return nil
	}
	before := exercise.Lines(res.Stdout)
	took, err := e.StopPod(ctx, "ex3", pod)
	if err != nil {
		return err
	}
	e.Logf("pod deleted in %s", took)
	var objs []*unstructured.Unstructured
	for _, o := range e.File.Objects {
		objs = append(objs, o.Raw)
	}
	if err := e.Apply(ctx, objs); err != nil {
		if kube.IsInfra(err) {
			return err
		}
		e.Rec.Set(id, check.Fail("the manifest to apply again", err.Error(), ""))
		return nil
	}
	if p, err := e.WaitReady(ctx, pod, e.Deadlines.ReadyWithPVC.Duration); err != nil {
		if err != kube.ErrTimeout {
			return err
		}
		if err := exercise.MissingLabImage(p); err != nil {
			return err
		}
		hint, err := diagnoseClaim(ctx, e)
		if err != nil {
			return err
		}
		e.Rec.Set(id, check.Fail("the re-created pod Ready", "it was not within "+e.Deadlines.ReadyWithPVC.String()+": "+kube.PodState(p), hint).
			With(e.Evidence(ctx, pod, exercise.EvidenceTail)...))
		return nil
	}
	var after []string
	err = kube.Poll(ctx, e.Deadlines.Aggregator.Duration, time.Second, func(ctx context.Context) (bool, error) {
		res, err := e.Exec(ctx, pod, aggregator, []string{"cat", summary}, 10*time.Second)
		if err != nil || res.ExitCode != 0 {
			return false, kube.OnlyInfra(err)
		}
		after = exercise.Lines(res.Stdout)
		return len(after) > len(before) && equal(after[:len(before)], before), nil
	})
	if err == nil {
		e.Rec.Set(id, check.Pass("summary.log kept its %d lines across re-creation and grew to %d", len(before), len(after)))
		return nil
	}
	if err != kube.ErrTimeout {
		return err
	}
	seen := fmt.Sprintf("%d lines before, %d after", len(before), len(after))
	if len(after) >= len(before) && !equal(after[:len(before)], before) || len(after) < len(before) {
		seen += "; the earlier lines are gone"
	}
	e.Rec.Set(id, check.Fail(fmt.Sprintf("summary.log to start with its %d earlier lines and grow within %s of re-creation", len(before), e.Deadlines.Aggregator.Duration),
		seen, "keep summary.log on the PVC log-storage (mounted at /persistent-logs) and append to it (>>), never truncate").
		With(tail("summary.log before", strings.Join(before, "\n"), 8), tail("summary.log after", strings.Join(after, "\n"), 8)))
	return nil
}

// restartsAfter: no container of the re-created pod restarted. err is an InfraError: the cluster failed.
func restartsAfter(ctx context.Context, e *exercise.Env) (check.Verdict, error) {
	r, err := e.Restarts(ctx, pod)
	if kube.IsInfra(err) {
		return check.Verdict{}, err
	}
	if err != nil {
		return check.Fail("the re-created pod to exist", err.Error(), ""), nil
	}
	for c, n := range r {
		if n > 0 {
			return check.Fail("no restart of the re-created pod's containers", fmt.Sprintf("%s restarted %d times", c, n), "").With(e.Evidence(ctx, pod, exercise.EvidenceTail)...), nil
		}
	}
	return check.Pass("no container restarted (before or after the re-creation)"), nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func tail(name, text string, n int) string {
	l := exercise.Lines(text)
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return fmt.Sprintf("%s, last %d lines:\n%s", name, len(l), strings.Join(l, "\n"))
}
