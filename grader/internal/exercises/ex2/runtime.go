package ex2

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"sort"
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
	pod       = "advanced-sidecar-demo"
	web       = "web-app"
	processor = "log-processor"
	forwarder = "log-forwarder"
)

// recordKeys are the keys every structured record must have.
var recordKeys = []string{"timestamp", "client_ip", "request_time", "method", "path", "protocol", "status_code",
	"response_size", "referer", "user_agent", "severity"}

// sentProbe is a probe with what it should produce.
type sentProbe struct {
	probe.Probe
	resp     probe.Response
	err      error
	severity string
	access   exercise.AccessEntry // as nginx logged it
	logged   bool
}

// run is exercise 2's scenario: routes answer as the lab's nginx.conf says; the processor turns each marked
// request into one JSON record (stdout) and each 5xx into one ALERT (stderr); the forwarder counts the log's lines.
func run(ctx context.Context, e *exercise.Env) error {
	ok, err := e.CheckReady(ctx, "ex2.ready", pod, e.Deadlines.Ready.Duration, nil)
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
	since := time.Now().Add(-2 * time.Second)

	// Warm up through both a 2xx and a 5xx path: a 5xx shows on the processor's stderr even when its stdout is
	// block-buffered, so the probes are not sent before the processor watches the log.
	seen, err := e.WarmUp(ctx, pod, web, processor, run, []string{"/", "/error"}, e.Deadlines.ProbeLine.Duration)
	if err != nil {
		return err
	}
	e.Logf("processor saw a warm-up request: %v", seen)

	probes := []*sentProbe{
		{Probe: probe.New(run, 1, "/"), severity: "INFO"},
		{Probe: probe.New(run, 2, "/api"), severity: "INFO"},
		{Probe: probe.New(run, 3, "/error"), severity: "ERROR"},
		{Probe: probe.New(run, 4, "/no-such-page-"+run), severity: "WARN"},
	}
	for _, p := range probes {
		p.resp, p.err = e.Curl(ctx, pod, web, p.Probe)
		if kube.IsInfra(p.err) {
			return p.err
		}
	}
	e.Rec.Set("ex2.routes", routes(probes))
	e.Rec.Set("ex2.api-content-type", contentType(probes[1]))

	// Collect the processor's output until every probe has its record (and the 5xx its alert), or the deadline.
	var nginx exercise.NginxLog
	var all string
	err = kube.Poll(ctx, e.Deadlines.ProbeLine.Duration, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		// Keep the last complete reads: one cut short by the deadline must not wipe what was already seen.
		n, err := e.ReadNginxLog(ctx, pod, web)
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		out, err := e.Logs(ctx, pod, processor, kube.LogOptions{Since: since})
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		nginx, all = n, out
		recs, alerts := parseOutput(exercise.Lines(all))
		for _, p := range probes {
			if len(recs[p.ID]) == 0 || (p.severity == "ERROR" && len(alerts[p.ID]) == 0) {
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
		if all, err = e.Logs(ctx, pod, processor, kube.LogOptions{Since: since}); err != nil {
			return err
		}
	}
	for _, p := range probes {
		line, n := nginx.Line(p.ID)
		if n == 1 {
			p.access, p.logged = exercise.ParseAccess(line)
		}
	}
	recs, alerts := parseOutput(exercise.Lines(all))
	evidence := func() []string { return e.Evidence(ctx, pod, exercise.EvidenceTail) }
	e.Rec.Set("ex2.records", records(probes, recs, e.Deadlines.ProbeLine.Duration, evidence))
	e.Rec.Set("ex2.severity", severity(probes, recs))
	e.Rec.Set("ex2.alerts", alertsCheck(probes, alerts, evidence))
	v, err := alertStream(ctx, e, probes, since)
	if err != nil {
		return err
	}
	e.Rec.Set("ex2.alert-stream", v)
	if v, err = forwarderCheck(ctx, e); err != nil {
		return err
	}
	e.Rec.Set("ex2.forwarder", v)
	return e.CheckStable(ctx, "ex2.stable", pod, before)
}

// parsed is one JSON line of the processor's output.
type parsed struct {
	line string
	obj  map[string]any
}

// parseOutput splits the processor's lines into records and alerts, keyed by the probe ID in their path.
func parseOutput(lines []string) (recs, alerts map[string][]parsed) {
	recs, alerts = map[string][]parsed{}, map[string][]parsed{}
	for _, l := range lines {
		isAlert := strings.HasPrefix(l, "ALERT: ")
		body := strings.TrimPrefix(l, "ALERT: ")
		obj, ok := decode(body)
		if !ok {
			continue
		}
		var path string
		if isAlert {
			d, _ := obj["details"].(map[string]any)
			path, _ = d["path"].(string)
		} else {
			path, _ = obj["path"].(string)
		}
		id := probeID(path)
		if id == "" {
			continue
		}
		if isAlert {
			alerts[id] = append(alerts[id], parsed{l, obj})
		} else {
			recs[id] = append(recs[id], parsed{l, obj})
		}
	}
	return recs, alerts
}

func decode(s string) (map[string]any, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}

func probeID(path string) string {
	i := strings.Index(path, "probe=")
	if i < 0 {
		return ""
	}
	id := path[i+len("probe="):]
	if j := strings.IndexAny(id, "&# "); j >= 0 {
		id = id[:j]
	}
	return id
}

func routes(ps []*sentProbe) check.Verdict {
	root, api, errp, _ := ps[0], ps[1], ps[2], ps[3]
	for _, p := range []*sentProbe{root, api, errp} {
		if p.err != nil {
			return check.Fail("GET "+p.Path+" to answer", p.err.Error(), "web-app must serve on port 80")
		}
	}
	if root.resp.Status != 200 {
		return check.Fail("GET / to answer 200", fmt.Sprint(root.resp.Status), "keep the `location /` block serving /usr/share/nginx/html")
	}
	if api.resp.Status != 200 {
		return check.Fail("GET /api to answer 200", fmt.Sprint(api.resp.Status), "add `location /api { return 200 '{...}'; }`")
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(api.resp.Body), &body); err != nil {
		return check.Fail("/api to answer a JSON object", exercise.ShowLine(api.resp.Body), "return a JSON body such as {\"status\":\"ok\",\"timestamp\":\"$time_iso8601\"}")
	}
	if body["status"] != "ok" {
		return check.Fail(`/api's JSON to have "status": "ok"`, exercise.ShowLine(api.resp.Body), "")
	}
	ts, _ := body["timestamp"].(string)
	if !isISO8601(ts) {
		return check.Fail(`/api's JSON to have an ISO-8601 "timestamp"`, exercise.ShowLine(api.resp.Body), "nginx's $time_iso8601 variable gives one")
	}
	if errp.resp.Status != 500 {
		return check.Fail("GET /error to answer 500", fmt.Sprint(errp.resp.Status), "add `location /error { return 500 '...'; }`")
	}
	return check.Pass("/ 200, /api 200 with status ok and timestamp %s, /error 500", ts)
}

func isISO8601(s string) bool {
	for _, layout := range []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

func contentType(api *sentProbe) check.Verdict {
	if api.err != nil {
		return check.Fail("GET /api to answer", api.err.Error(), "")
	}
	got := api.resp.Headers["content-type"]
	if len(got) != 1 {
		return check.Fail("exactly one Content-Type header on /api", fmt.Sprintf("%d: %s", len(got), strings.Join(got, " | ")),
			"`add_header Content-Type` adds a second header on top of nginx's default type: set `default_type application/json;` in the location instead")
	}
	mt, _, err := mime.ParseMediaType(got[0])
	if err != nil || mt != "application/json" {
		return check.Fail("Content-Type application/json on /api", got[0], "set `default_type application/json;` in `location /api`")
	}
	return check.Pass("one Content-Type header: %s", got[0])
}

// records: each probe exactly one JSON record with every key and values matching what nginx logged.
func records(ps []*sentProbe, recs map[string][]parsed, within time.Duration, evidence func() []string) check.Verdict {
	hint := "print one JSON object per access-log line on stdout, flushed at once (print(..., flush=True) or python -u)"
	for _, p := range ps {
		if !p.logged {
			return check.Fail("nginx to log probe "+p.ID+" in /var/log/nginx/access.log in the `main` format", "no such line",
				"keep nginx's access log at /var/log/nginx/access.log with the default `main` format").With(evidence()...)
		}
		got := recs[p.ID]
		if len(got) != 1 {
			return check.Fail(fmt.Sprintf("exactly one JSON record for %s within %s", p.Path, within), fmt.Sprintf("%d records", len(got)), hint).With(evidence()...)
		}
		r := got[0].obj
		var missing []string
		for _, k := range recordKeys {
			if _, ok := r[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return check.Fail("the keys "+strings.Join(recordKeys, " "), "a record without "+strings.Join(missing, ", ")+": "+exercise.ShowLine(got[0].line), hint)
		}
		if msg := compareRecord(r, p.access); msg != "" {
			return check.Fail("the record's values to match the request as nginx logged it", msg+" in "+exercise.ShowLine(got[0].line),
				"parse every field of the `main` format; status_code and response_size are integers; keep the query in path")
		}
	}
	return check.Pass("%d probes, one well-formed record each", len(ps))
}

// compareRecord returns "" when r matches the access-log entry, else what differs.
func compareRecord(r map[string]any, a exercise.AccessEntry) string {
	str := func(k string) string { s, _ := r[k].(string); return s }
	for _, f := range []struct{ key, want string }{
		{"client_ip", a.ClientIP}, {"request_time", a.TimeLocal}, {"method", a.Method}, {"path", a.Path},
		{"protocol", a.Protocol}, {"referer", a.Referer}, {"user_agent", a.UserAgent},
	} {
		if str(f.key) != f.want {
			return fmt.Sprintf("%s = %q, nginx logged %q", f.key, r[f.key], f.want)
		}
	}
	for _, f := range []struct {
		key  string
		want int
	}{{"status_code", a.Status}, {"response_size", a.Bytes}} {
		n, ok := r[f.key].(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			return fmt.Sprintf("%s = %v is not an integer", f.key, r[f.key])
		}
		if n.String() != fmt.Sprint(f.want) {
			return fmt.Sprintf("%s = %s, nginx logged %d", f.key, n, f.want)
		}
	}
	if s, ok := r["timestamp"].(string); !ok || s == "" {
		return "timestamp is empty"
	}
	return ""
}

func severity(ps []*sentProbe, recs map[string][]parsed) check.Verdict {
	var seen []string
	for _, p := range ps {
		got := recs[p.ID]
		if len(got) == 0 {
			return check.Fail("a record with a severity for "+p.Path, "no record", "records must reach stdout at once (flush)")
		}
		sev, _ := got[0].obj["severity"].(string)
		status := 0
		if p.logged {
			status = p.access.Status
		}
		if sev != p.severity {
			return check.Fail(fmt.Sprintf("severity %s for status %d", p.severity, status), fmt.Sprintf("%q", sev),
				"INFO below 400, WARN for 4xx, ERROR for 5xx")
		}
		seen = append(seen, fmt.Sprintf("%d→%s", status, sev))
	}
	return check.Pass("%s", strings.Join(seen, ", "))
}

func alertsCheck(ps []*sentProbe, alerts map[string][]parsed, evidence func() []string) check.Verdict {
	hint := "for each 5xx, print `ALERT: ` + json.dumps({\"alert\": \"HTTP_5XX_ERROR\", \"timestamp\": ..., \"details\": record}) to stderr"
	n := 0
	for _, p := range ps {
		got := alerts[p.ID]
		if p.severity != "ERROR" {
			if len(got) > 0 {
				return check.Fail("no alert for "+p.Path, fmt.Sprintf("%d alerts: %s", len(got), exercise.ShowLine(got[0].line)), "alert only on status >= 500")
			}
			continue
		}
		if len(got) != 1 {
			return check.Fail("exactly one ALERT line for the 5xx probe "+p.Path, fmt.Sprintf("%d", len(got)), hint).With(evidence()...)
		}
		a := got[0].obj
		if a["alert"] != "HTTP_5XX_ERROR" {
			return check.Fail(`"alert": "HTTP_5XX_ERROR"`, exercise.ShowLine(got[0].line), hint)
		}
		d, ok := a["details"].(map[string]any)
		if !ok {
			return check.Fail(`"details" holding the request's parsed fields`, exercise.ShowLine(got[0].line), hint)
		}
		if !p.logged {
			return check.Fail("nginx to log the 5xx probe "+p.ID+" once in /var/log/nginx/access.log in the `main` format",
				"no such line", "keep nginx's access log at /var/log/nginx/access.log with the default `main` format")
		}
		if msg := compareRecord(d, p.access); msg != "" {
			return check.Fail("details matching the request", msg, hint)
		}
		n++
	}
	return check.Pass("%d alert(s), one per 5xx probe, none for other statuses", n)
}

// alertStream: alerts on stderr only, records on stdout only. err is an InfraError: the cluster failed.
func alertStream(ctx context.Context, e *exercise.Env, ps []*sentProbe, since time.Time) (check.Verdict, error) {
	split, err := e.SplitStreams(ctx, pod, processor)
	if err != nil {
		return check.Verdict{}, err
	}
	if !split {
		return check.Skip("this cluster cannot return a container's stderr apart from its stdout (feature gate PodLogsQuerySplitStreams is off)"), nil
	}
	out, err1 := e.Logs(ctx, pod, processor, kube.LogOptions{Stream: kube.Stdout, Since: since})
	errs, err2 := e.Logs(ctx, pod, processor, kube.LogOptions{Stream: kube.Stderr, Since: since})
	for _, err := range []error{err1, err2} {
		if kube.IsInfra(err) {
			return check.Verdict{}, err
		}
	}
	if err1 != nil || err2 != nil {
		return check.Fail("the processor's stdout and stderr to be readable", fmt.Sprint(err1, err2), ""), nil
	}
	outRecs, outAlerts := parseOutput(exercise.Lines(out))
	errRecs, errAlerts := parseOutput(exercise.Lines(errs))
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	alertsSeen := 0
	for _, id := range ids {
		if len(outAlerts[id]) > 0 {
			return check.Fail("alerts on stderr only", "an ALERT on stdout: "+exercise.ShowLine(outAlerts[id][0].line),
				"print alerts with print(..., file=sys.stderr)"), nil
		}
		if len(errRecs[id]) > 0 {
			return check.Fail("records on stdout only", "a record on stderr: "+exercise.ShowLine(errRecs[id][0].line), "print records to stdout"), nil
		}
		alertsSeen += len(errAlerts[id])
		_ = outRecs
	}
	if alertsSeen == 0 {
		return check.Fail("the 5xx probe's ALERT on stderr", "no alert on stderr", "print alerts with print(..., file=sys.stderr, flush=True)"), nil
	}
	return check.Pass("alerts on stderr, none on stdout; no record on stderr"), nil
}

// forwarderCheck: within two forwarder cycles the latest total equals the access log's line count, and the
// forwarded batches add up to it. err is an InfraError: the cluster failed.
func forwarderCheck(ctx context.Context, e *exercise.Env) (check.Verdict, error) {
	var total, sum, lines int
	var haveTotal bool
	var lastLog string
	err := kube.Poll(ctx, e.Deadlines.Forwarder.Duration, time.Second, func(ctx context.Context) (bool, error) {
		res, err := e.Exec(ctx, pod, web, []string{"wc", "-l", "/var/log/nginx/access.log"}, 10*time.Second)
		if err != nil || res.ExitCode != 0 {
			return false, kube.OnlyInfra(err)
		}
		if _, err := fmt.Sscanf(strings.TrimSpace(res.Stdout), "%d", &lines); err != nil {
			return false, nil
		}
		log, err := e.Logs(ctx, pod, forwarder, kube.LogOptions{})
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		lastLog = log
		total, sum, haveTotal = 0, 0, false
		for _, l := range exercise.Lines(log) {
			var k, n int
			if _, err := fmt.Sscanf(afterWord(l, "Forwarding"), "%d new log entries", &k); err == nil {
				sum += k
			}
			if _, err := fmt.Sscanf(afterWord(l, "Total entries processed:"), "%d", &n); err == nil {
				total, haveTotal = n, true
			}
		}
		return haveTotal && total == lines && sum == total, nil
	})
	if err != nil && err != kube.ErrTimeout {
		return check.Verdict{}, err
	}
	if err == nil {
		return check.Pass("latest total %d = lines in access.log; batches add up to %d", total, sum), nil
	}
	tail := exercise.Lines(lastLog)
	if len(tail) > 10 {
		tail = tail[len(tail)-10:]
	}
	seen := fmt.Sprintf("access.log has %d lines; latest `Total entries processed:` %s; `Forwarding K new log entries` add up to %d", lines, totalText(total, haveTotal), sum)
	return check.Fail(fmt.Sprintf("within %s the latest total to equal the line count of the shared access.log and the batches to add up to it", e.Deadlines.Forwarder.Duration),
		seen, "count lines of the shared access.log each cycle (wc -l < file) and print the new ones and the total").With("log-forwarder's last lines:\n" + strings.Join(tail, "\n")), nil
}

func totalText(n int, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(n)
}

// afterWord returns what follows word in l, or "" when l lacks it.
func afterWord(l, word string) string {
	i := strings.Index(l, word)
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(l[i+len(word):])
}
