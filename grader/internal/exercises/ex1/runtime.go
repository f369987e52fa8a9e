package ex1

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/probe"
)

// The scenario refers to Definition.Checks, so it is attached here rather than in the literal (an init cycle).
func init() { Definition.Run = run }

const (
	pod     = "web-with-sidecar"
	web     = "web-app"
	sidecar = "log-sidecar"
	// probes is how many ordinary probes ex1.processed sends.
	probes = 5
)

var processedLine = regexp.MustCompile(`^\[PROCESSED\] (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) - (.*)$`)

// run is exercise 1's scenario: the pod gets Ready, serves the ConfigMap's page, and the sidecar reproduces each
// marked request's access-log line, in order, byte for byte.
func run(ctx context.Context, e *exercise.Env) error {
	ok, err := e.CheckReady(ctx, "ex1.ready", pod, e.Deadlines.Ready.Duration, nil)
	if err != nil {
		return err // the cluster failed: every check left is an error, none a failure
	}
	if !ok {
		e.NotEvaluated(Definition.Checks, "the Pod never became Ready")
		return nil
	}
	before, err := e.Restarts(ctx, pod)
	if err != nil {
		return err
	}
	run := probe.NewRun()

	// ex1.serves-page
	home := probe.New(run, 0, "/")
	resp, err := e.Curl(ctx, pod, web, home)
	if kube.IsInfra(err) {
		return err
	}
	want := ""
	if cm := e.File.ConfigMap("web-content"); cm != nil {
		want = cm.Data["index.html"]
	}
	switch {
	case err != nil:
		e.Rec.Set("ex1.serves-page", check.Fail("GET / to answer 200 with the ConfigMap's page", err.Error(),
			"web-app must serve on port 80 with curl available (nginx:1.24-alpine has it)").With(e.Evidence(ctx, pod, exercise.EvidenceTail)...))
	case resp.Status != 200:
		e.Rec.Set("ex1.serves-page", check.Fail("GET / to answer 200", fmt.Sprintf("%d", resp.Status),
			"mount ConfigMap web-content at /usr/share/nginx/html so that index.html is served"))
	case want == "" || strings.TrimSpace(resp.Body) != strings.TrimSpace(want):
		e.Rec.Set("ex1.serves-page", check.Fail("GET / to answer the index.html of ConfigMap web-content",
			"a different page: "+exercise.ShowLine(resp.Body), "mount ConfigMap web-content at /usr/share/nginx/html"))
	default:
		e.Rec.Set("ex1.serves-page", check.Pass("GET / answered 200 with the ConfigMap's page (%d bytes)", len(resp.Body)))
	}

	// Wait until the sidecar shows our traffic, then send the probes.
	since := time.Now().Add(-2 * time.Second)
	seen, err := e.WarmUp(ctx, pod, web, sidecar, run, []string{"/"}, e.Deadlines.ProbeLine.Duration+5*time.Second)
	if err != nil {
		return err
	}
	if !seen {
		v := check.Fail("log-sidecar to print the requests nginx logs", "none of the grader's warm-up requests appeared in log-sidecar's log within "+
			(e.Deadlines.ProbeLine.Duration+5*time.Second).String(),
			"nginx writes /var/log/nginx/access.log in web-app: share that directory with log-sidecar through one emptyDir and follow the file there (tail -F)").
			With(e.Evidence(ctx, pod, exercise.EvidenceTail)...)
		e.Rec.Set("ex1.processed", v)
		e.Rec.Set("ex1.verbatim", v)
		return e.CheckStable(ctx, "ex1.stable", pod, before)
	}
	var sent []probe.Probe
	for i := 1; i <= probes; i++ {
		p := probe.New(run, i, "/")
		if _, err := e.Curl(ctx, pod, web, p); err != nil {
			if kube.IsInfra(err) {
				return err
			}
			e.Rec.Set("ex1.processed", check.Fail("web-app to answer the probes", err.Error(), "").With(e.Evidence(ctx, pod, exercise.EvidenceTail)...))
			break
		}
		sent = append(sent, p)
	}
	tricky := probe.Tricky(run, probes+1, "/")
	if _, err := e.Curl(ctx, pod, web, tricky); err != nil {
		if kube.IsInfra(err) {
			return err
		}
		e.Rec.Set("ex1.verbatim", check.Fail("web-app to answer the probe", err.Error(), ""))
	}

	// Poll the sidecar's log until every probe's line is there, or the deadline passes.
	var nginx exercise.NginxLog
	var lines []string
	all := append(append([]probe.Probe{}, sent...), tricky)
	err = kube.Poll(ctx, e.Deadlines.ProbeLine.Duration, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		// Keep the last complete reads: one cut short by the deadline must not wipe what was already seen.
		n, err := e.ReadNginxLog(ctx, pod, web)
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		log, err := e.Logs(ctx, pod, sidecar, kube.LogOptions{Since: since})
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		nginx, lines = n, exercise.Lines(log)
		for _, p := range all {
			if len(matching(lines, p.ID)) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && err != kube.ErrTimeout {
		return err
	}
	if nginx == nil { // no complete read within the deadline: one more, on the scenario's own context
		if nginx, err = e.ReadNginxLog(ctx, pod, web); err != nil {
			return err
		}
	}
	if !e.Rec.Has("ex1.processed") {
		e.Rec.Set("ex1.processed", processed(ctx, e, sent, nginx, lines))
	}
	if !e.Rec.Has("ex1.verbatim") {
		e.Rec.Set("ex1.verbatim", verbatim(ctx, e, tricky, nginx, lines))
	}
	return e.CheckStable(ctx, "ex1.stable", pod, before)
}

// matching returns the sidecar lines that mention probe id.
func matching(lines []string, id string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, "probe="+id+" ") || strings.Contains(l, "probe="+id+"&") {
			out = append(out, l)
		}
	}
	return out
}

// processed: each probe exactly once as "[PROCESSED] <date> - <nginx line>", in request order.
func processed(ctx context.Context, e *exercise.Env, sent []probe.Probe, nginx exercise.NginxLog, lines []string) check.Verdict {
	hint := "print each access-log line once, as `[PROCESSED] $(date '+%Y-%m-%d %H:%M:%S') - $line`, following the file with tail -F"
	lastPos := -1
	for _, p := range sent {
		want, n := nginx.Line(p.ID)
		if n != 1 {
			return check.Fail("nginx to log probe "+p.ID+" once in /var/log/nginx/access.log", fmt.Sprintf("%d lines", n),
				"keep nginx's access log at /var/log/nginx/access.log (the shared volume's mount in web-app)").With(e.Evidence(ctx, pod, exercise.EvidenceTail)...)
		}
		got := matching(lines, p.ID)
		if len(got) != 1 {
			return check.Fail(fmt.Sprintf("probe %s exactly once in log-sidecar's log within %s", p.ID, e.Deadlines.ProbeLine.Duration),
				fmt.Sprintf("%d times", len(got)), hint).With(append([]string{"nginx logged: " + want, "sidecar lines: " + strings.Join(got, "\n")},
				e.Evidence(ctx, pod, exercise.EvidenceTail)...)...)
		}
		m := processedLine.FindStringSubmatch(got[0])
		if m == nil || m[2] != want {
			return check.Fail("`[PROCESSED] YYYY-MM-DD HH:MM:SS - "+want+"`", exercise.ShowLine(got[0]), hint)
		}
		pos := indexOf(lines, got[0])
		if pos < lastPos {
			return check.Fail("the probes in the order they were sent", "probe "+p.ID+" printed before the one sent ahead of it", hint)
		}
		lastPos = pos
	}
	return check.Pass("%d probes each printed once, in order, as [PROCESSED] <date> - <access-log line>", len(sent))
}

// verbatim: the tricky probe's line reproduced byte for byte.
func verbatim(ctx context.Context, e *exercise.Env, p probe.Probe, nginx exercise.NginxLog, lines []string) check.Verdict {
	want, n := nginx.Line(p.ID)
	if n != 1 {
		return check.Fail("nginx to log the probe once", fmt.Sprintf("%d lines", n), "")
	}
	got := matching(lines, p.ID)
	if len(got) != 1 {
		return check.Fail("the probe whose Referer and User-Agent hold \" and \\ exactly once in log-sidecar's log",
			fmt.Sprintf("%d times", len(got)), "read lines with `IFS= read -r line`").With("nginx logged: " + want)
	}
	m := processedLine.FindStringSubmatch(got[0])
	if m == nil || m[2] != want {
		return check.Fail("the access-log line byte for byte: "+exercise.ShowLine(want), exercise.ShowLine(got[0]),
			"nginx logs \" and \\ as \\x22 and \\x5C; a `read` without -r eats the backslashes: use `while IFS= read -r line`")
	}
	return check.Pass("a line with \\x22 and \\x5C escapes was reproduced byte for byte")
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}
