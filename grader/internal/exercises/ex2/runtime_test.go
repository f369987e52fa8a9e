package ex2

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/probe"
	"github.com/sidecar-lab/grader/grader/result"
)

// entry is what nginx logged for a probe to path with status and size, as exercise.ParseAccess returns it.
func entry(path string, status, size int) exercise.AccessEntry {
	return exercise.AccessEntry{ClientIP: "127.0.0.1", TimeLocal: "01/Jan/2025:12:00:00 +0000", Method: "GET", Path: path,
		Protocol: "HTTP/1.1", Status: status, Bytes: size,
		Referer:   `http://grader.sidecar-lab/probe/x?q=\x22quoted\x22&b=back\x5Cslash`,
		UserAgent: `sidecar-lab-grader/0.1.0 (\x22quotes\x22 \x5Cbackslash\x5C)`}
}

// record is the processor's JSON object for a, as the reference processor writes it (integers as integers).
func record(a exercise.AccessEntry, severity string) map[string]any {
	return map[string]any{
		"timestamp": "2025-01-01T12:00:00.123456", "client_ip": a.ClientIP, "request_time": a.TimeLocal,
		"method": a.Method, "path": a.Path, "protocol": a.Protocol, "status_code": a.Status, "response_size": a.Bytes,
		"referer": a.Referer, "user_agent": a.UserAgent, "severity": severity,
	}
}

func jsonLine(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func alertLine(t *testing.T, details any) string {
	return "ALERT: " + jsonLine(t, map[string]any{"alert": "HTTP_5XX_ERROR", "timestamp": "2025-01-01T12:00:00", "details": details})
}

// decoded turns v into what parseOutput's decoder yields (numbers as json.Number).
func decoded(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	m, ok := decode(jsonLine(t, v))
	require.True(t, ok)
	return m
}

// sent returns the four probes of the scenario, as sent and logged, with their expected severities.
func sent() []*sentProbe {
	mk := func(n int, path string, status, size int, sev string, body string, headers map[string][]string) *sentProbe {
		p := probe.New("ab", n, path)
		return &sentProbe{Probe: p, severity: sev, logged: true, access: entry(p.Path, status, size),
			resp: probe.Response{Status: status, Body: body, Headers: headers}}
	}
	return []*sentProbe{
		mk(1, "/", 200, 615, "INFO", "<html>page</html>", map[string][]string{"content-type": {"text/html"}}),
		mk(2, "/api", 200, 52, "INFO", `{"status":"ok","timestamp":"2025-01-01T12:00:00+00:00"}`,
			map[string][]string{"content-type": {"application/json"}}),
		mk(3, "/error", 500, 40, "ERROR", "Internal Server Error", map[string][]string{"content-type": {"text/plain"}}),
		mk(4, "/no-such-page-ab", 404, 153, "WARN", "not found", map[string][]string{"content-type": {"text/html"}}),
	}
}

func TestProbeID(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/?probe=slg-ab-1", "slg-ab-1"},
		{"/api?probe=slg-ab-10", "slg-ab-10"},
		{"/search?q=x&probe=slg-ab-2", "slg-ab-2"},
		{"/x?probe=slg-ab-3&y=1", "slg-ab-3"},
		{"/x?probe=slg-ab-4#frag", "slg-ab-4"},
		{"/x?probe=slg-ab-5 HTTP/1.1", "slg-ab-5"},
		{"/", ""},
		{"", ""},
		{"/probe/slg-ab-6", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, probeID(tt.path))
		})
	}
}

func TestParseOutput(t *testing.T) {
	ps := sent()
	rec1 := jsonLine(t, record(ps[0].access, "INFO"))
	rec1again := jsonLine(t, record(ps[0].access, "INFO"))
	rec3 := jsonLine(t, record(ps[2].access, "ERROR"))
	alert3 := alertLine(t, record(ps[2].access, "ERROR"))
	kubelet := jsonLine(t, record(entry("/", 200, 615), "INFO")) // no probe in the path
	alertNoDetails := `ALERT: {"alert": "HTTP_5XX_ERROR", "path": "/error?probe=slg-ab-9"}`
	lines := []string{
		"Advanced log processor starting...",
		"Monitoring /shared-logs/access.log",
		rec1,
		kubelet,
		"{not json at all",
		`["a", "list", "/?probe=slg-ab-1"]`,
		"  " + rec3 + "  ",
		alert3,
		alertNoDetails,
		"ALERT: broken {",
		`2025-01-01 12:00:00 {"path": "/?probe=slg-ab-7"}`, // JSON after a prefix is not a JSON line
		rec1again,
		"",
	}
	recs, alerts := parseOutput(lines)

	assert.ElementsMatch(t, []string{ps[0].ID, ps[2].ID}, keys(recs))
	assert.ElementsMatch(t, []string{ps[2].ID}, keys(alerts))
	require.Len(t, recs[ps[0].ID], 2, "duplicates are kept, so that 'exactly one' can be checked")
	assert.Equal(t, rec1, recs[ps[0].ID][0].line)
	require.Len(t, recs[ps[2].ID], 1)
	require.Len(t, alerts[ps[2].ID], 1)
	assert.Equal(t, alert3, alerts[ps[2].ID][0].line, "an alert keeps its whole line")
	assert.Equal(t, "HTTP_5XX_ERROR", alerts[ps[2].ID][0].obj["alert"])
	assert.IsType(t, json.Number(""), recs[ps[2].ID][0].obj["status_code"], "numbers are kept as written")

	r, a := parseOutput(nil)
	assert.Empty(t, r)
	assert.Empty(t, a)
}

func keys(m map[string][]parsed) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCompareRecord(t *testing.T) {
	a := entry("/search?q=x&probe=slg-ab-2", 500, 40)
	ok := record(a, "ERROR")
	tests := []struct {
		name   string
		change func(m map[string]any)
		raw    string // when set, the record's JSON text (to control how numbers are written)
		want   string // "" = matches; else a substring of the message
	}{
		{name: "matching record", change: func(map[string]any) {}, want: ""},
		{name: "client_ip", change: func(m map[string]any) { m["client_ip"] = "10.0.0.1" }, want: "client_ip"},
		{name: "request_time", change: func(m map[string]any) { m["request_time"] = "2025-01-01T12:00:00" }, want: "request_time"},
		{name: "method", change: func(m map[string]any) { m["method"] = "POST" }, want: "method"},
		{name: "path without its query", change: func(m map[string]any) { m["path"] = "/search" }, want: "path"},
		{name: "protocol", change: func(m map[string]any) { m["protocol"] = "" }, want: "protocol"},
		{name: "referer unescaped", change: func(m map[string]any) {
			m["referer"] = `http://grader.sidecar-lab/probe/x?q="quoted"&b=back\slash`
		}, want: "referer"},
		{name: "user_agent mangled", change: func(m map[string]any) {
			m["user_agent"] = `sidecar-lab-grader/0.1.0 (x22quotesx22 x5Cbackslashx5C)`
		}, want: "user_agent"},
		{name: "referer missing", change: func(m map[string]any) { delete(m, "referer") }, want: "referer"},
		{name: "status_code wrong", change: func(m map[string]any) { m["status_code"] = 200 }, want: "status_code = 200, nginx logged 500"},
		{name: "status_code as a string", change: func(m map[string]any) { m["status_code"] = "500" }, want: "status_code = 500 is not an integer"},
		{name: "status_code as a float", raw: strings.Replace(jsonLine(t, ok), `"status_code":500`, `"status_code":500.0`, 1),
			want: "status_code = 500.0 is not an integer"},
		{name: "status_code in exponent form", raw: strings.Replace(jsonLine(t, ok), `"status_code":500`, `"status_code":5e2`, 1),
			want: "status_code"},
		{name: "status_code null", change: func(m map[string]any) { m["status_code"] = nil }, want: "status_code"},
		{name: "response_size wrong", change: func(m map[string]any) { m["response_size"] = 41 }, want: "response_size = 41, nginx logged 40"},
		{name: "response_size as a string", change: func(m map[string]any) { m["response_size"] = "40" }, want: "response_size = 40 is not an integer"},
		{name: "response_size as a float", raw: strings.Replace(jsonLine(t, ok), `"response_size":40`, `"response_size":40.0`, 1),
			want: "response_size = 40.0 is not an integer"},
		{name: "timestamp empty", change: func(m map[string]any) { m["timestamp"] = "" }, want: "timestamp"},
		{name: "timestamp a number", change: func(m map[string]any) { m["timestamp"] = 1735732800 }, want: "timestamp"},
		{name: "extra keys are fine", change: func(m map[string]any) { m["extra"] = "x" }, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r map[string]any
			if tt.raw != "" {
				var okd bool
				r, okd = decode(tt.raw)
				require.True(t, okd, tt.raw)
			} else {
				m := record(a, "ERROR")
				tt.change(m)
				r = decoded(t, m)
			}
			got := compareRecord(r, a)
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		headers map[string][]string
		status  result.Status
		seen    string
	}{
		{name: "application/json", headers: map[string][]string{"content-type": {"application/json"}}, status: result.Passed},
		{name: "with charset", headers: map[string][]string{"content-type": {"application/json; charset=utf-8"}}, status: result.Passed},
		{name: "upper case", headers: map[string][]string{"content-type": {"Application/JSON"}}, status: result.Passed},
		{name: "two headers", headers: map[string][]string{"content-type": {"application/octet-stream", "application/json"}},
			status: result.Failed, seen: "2: application/octet-stream | application/json"},
		{name: "two identical headers", headers: map[string][]string{"content-type": {"application/json", "application/json"}},
			status: result.Failed, seen: "2:"},
		{name: "none", headers: map[string][]string{}, status: result.Failed, seen: "0"},
		{name: "text/plain", headers: map[string][]string{"content-type": {"text/plain"}}, status: result.Failed, seen: "text/plain"},
		{name: "octet-stream", headers: map[string][]string{"content-type": {"application/octet-stream"}}, status: result.Failed},
		{name: "json-ish", headers: map[string][]string{"content-type": {"application/jsonx"}}, status: result.Failed},
		{name: "unparsable", headers: map[string][]string{"content-type": {"application/json; ="}}, status: result.Failed},
		{name: "curl failed", err: errors.New("curl /api exited 7"), status: result.Failed, seen: "exited 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &sentProbe{Probe: probe.New("ab", 2, "/api"), err: tt.err, resp: probe.Response{Status: 200, Headers: tt.headers}}
			v := contentType(p)
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.seen)
			if tt.name == "two headers" {
				assert.Contains(t, v.Hint, "default_type")
			}
		})
	}
}

func TestIsISO8601(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2025-01-01T12:00:00+00:00", true}, // nginx $time_iso8601
		{"2025-01-01T12:00:00Z", true},
		{"2025-01-01T12:00:00.123456Z", true},
		{"2025-01-01T12:00:00", true},        // Python datetime.isoformat()
		{"2025-01-01T12:00:00.123456", true}, // with microseconds
		{"2025-01-01 12:00:00", false},
		{"01/Jan/2025:12:00:00 +0000", false},
		{"2025-13-01T12:00:00Z", false},
		{"$time_iso8601", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, isISO8601(tt.in))
		})
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name   string
		change func(ps []*sentProbe)
		status result.Status
		msg    string
	}{
		{name: "all good", change: func([]*sentProbe) {}, status: result.Passed, msg: "/error 500"},
		{name: "missing page's status is not routes' business", change: func(ps []*sentProbe) { ps[3].resp.Status = 200 }, status: result.Passed},
		{name: "root unreachable", change: func(ps []*sentProbe) { ps[0].err = errors.New("connection refused") },
			status: result.Failed, msg: "connection refused"},
		{name: "error probe unreachable", change: func(ps []*sentProbe) { ps[2].err = errors.New("timeout") },
			status: result.Failed, msg: "timeout"},
		{name: "root 404", change: func(ps []*sentProbe) { ps[0].resp.Status = 404 }, status: result.Failed, msg: "expected GET / to answer 200; saw 404"},
		{name: "api 404", change: func(ps []*sentProbe) { ps[1].resp.Status = 404 }, status: result.Failed, msg: "/api to answer 200; saw 404"},
		{name: "api not JSON", change: func(ps []*sentProbe) { ps[1].resp.Body = "ok" }, status: result.Failed, msg: "JSON object"},
		{name: "api status not ok", change: func(ps []*sentProbe) {
			ps[1].resp.Body = `{"status":"healthy","timestamp":"2025-01-01T12:00:00+00:00"}`
		}, status: result.Failed, msg: `"status": "ok"`},
		{name: "api timestamp missing", change: func(ps []*sentProbe) { ps[1].resp.Body = `{"status":"ok"}` },
			status: result.Failed, msg: "ISO-8601"},
		{name: "api timestamp not ISO", change: func(ps []*sentProbe) {
			ps[1].resp.Body = `{"status":"ok","timestamp":"01/Jan/2025:12:00:00 +0000"}`
		}, status: result.Failed, msg: "ISO-8601"},
		{name: "api timestamp a number", change: func(ps []*sentProbe) { ps[1].resp.Body = `{"status":"ok","timestamp":1735732800}` },
			status: result.Failed, msg: "ISO-8601"},
		{name: "error answers 200", change: func(ps []*sentProbe) { ps[2].resp.Status = 200 }, status: result.Failed,
			msg: "expected GET /error to answer 500; saw 200"},
		{name: "error answers 502", change: func(ps []*sentProbe) { ps[2].resp.Status = 502 }, status: result.Failed, msg: "saw 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := sent()
			tt.change(ps)
			v := routes(ps)
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.msg)
		})
	}
}

// output builds the processor's records for ps with the given severities (by probe index; "" = no record).
func output(t *testing.T, ps []*sentProbe, sev ...string) map[string][]parsed {
	var lines []string
	for i, p := range ps {
		if sev[i] != "" {
			lines = append(lines, jsonLine(t, record(p.access, sev[i])))
		}
	}
	recs, _ := parseOutput(lines)
	return recs
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		name   string
		sev    []string
		status result.Status
		msg    string
	}{
		{name: "INFO, INFO, ERROR, WARN", sev: []string{"INFO", "INFO", "ERROR", "WARN"}, status: result.Passed,
			msg: "200→INFO, 200→INFO, 500→ERROR, 404→WARN"},
		{name: "4xx as ERROR", sev: []string{"INFO", "INFO", "ERROR", "ERROR"}, status: result.Failed,
			msg: `expected severity WARN for status 404; saw "ERROR"`},
		{name: "4xx as INFO", sev: []string{"INFO", "INFO", "ERROR", "INFO"}, status: result.Failed, msg: "severity WARN"},
		{name: "5xx as WARN", sev: []string{"INFO", "INFO", "WARN", "WARN"}, status: result.Failed, msg: "severity ERROR for status 500"},
		{name: "lower case", sev: []string{"info", "INFO", "ERROR", "WARN"}, status: result.Failed, msg: `"info"`},
		{name: "WARNING is not WARN", sev: []string{"INFO", "INFO", "ERROR", "WARNING"}, status: result.Failed, msg: `"WARNING"`},
		{name: "no record", sev: []string{"INFO", "", "ERROR", "WARN"}, status: result.Failed, msg: "no record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := sent()
			v := severity(ps, output(t, ps, tt.sev...))
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.msg)
		})
	}
}

func TestRecords(t *testing.T) {
	noEvidence := func() []string { return nil }
	t.Run("one well-formed record each", func(t *testing.T) {
		ps := sent()
		v := records(ps, output(t, ps, "INFO", "INFO", "ERROR", "WARN"), 0, noEvidence)
		assert.Equal(t, result.Passed, v.Status, v.Message)
	})
	t.Run("a probe nginx did not log", func(t *testing.T) {
		ps := sent()
		ps[1].logged = false
		v := records(ps, output(t, ps, "INFO", "INFO", "ERROR", "WARN"), 0, noEvidence)
		assert.Equal(t, result.Failed, v.Status)
		assert.Contains(t, v.Message, ps[1].ID)
	})
	t.Run("a duplicate record", func(t *testing.T) {
		ps := sent()
		recs := output(t, ps, "INFO", "INFO", "ERROR", "WARN")
		recs[ps[2].ID] = append(recs[ps[2].ID], recs[ps[2].ID][0])
		v := records(ps, recs, 0, noEvidence)
		assert.Equal(t, result.Failed, v.Status)
		assert.Contains(t, v.Message, "2 records")
	})
	t.Run("a missing key", func(t *testing.T) {
		ps := sent()
		m := record(ps[0].access, "INFO")
		delete(m, "protocol")
		delete(m, "severity")
		recs := output(t, ps, "", "INFO", "ERROR", "WARN")
		more, _ := parseOutput([]string{jsonLine(t, m)})
		recs[ps[0].ID] = more[ps[0].ID]
		v := records(ps, recs, 0, noEvidence)
		assert.Equal(t, result.Failed, v.Status)
		assert.Contains(t, v.Message, "without protocol, severity")
	})
	t.Run("a value differing from the log", func(t *testing.T) {
		ps := sent()
		recs := output(t, ps, "INFO", "INFO", "ERROR", "WARN")
		ps[3].access.Bytes = 154 // nginx logged 154 bytes; the record says 153
		v := records(ps, recs, 0, noEvidence)
		assert.Equal(t, result.Failed, v.Status)
		assert.Contains(t, v.Message, "response_size")
	})
}

func TestAlertsCheck(t *testing.T) {
	noEvidence := func() []string { return nil }
	ps := sent()
	errRec := record(ps[2].access, "ERROR")
	tests := []struct {
		name   string
		lines  []string
		change func(ps []*sentProbe)
		status result.Status
		msg    string
	}{
		{name: "one alert for the 5xx", lines: []string{alertLine(t, errRec)}, status: result.Passed, msg: "1 alert"},
		{name: "no alert", lines: nil, status: result.Failed, msg: "exactly one ALERT line for the 5xx probe"},
		{name: "two alerts", lines: []string{alertLine(t, errRec), alertLine(t, errRec)}, status: result.Failed, msg: "saw 2"},
		{name: "an alert for a 4xx", lines: []string{alertLine(t, errRec), alertLine(t, record(ps[3].access, "WARN"))},
			status: result.Failed, msg: "no alert for " + ps[3].Path},
		{name: "an alert for a 2xx", lines: []string{alertLine(t, record(ps[0].access, "INFO")), alertLine(t, errRec)},
			status: result.Failed, msg: "no alert for " + ps[0].Path},
		{name: "wrong alert name", lines: []string{"ALERT: " + jsonLine(t, map[string]any{"alert": "5XX", "details": errRec})},
			status: result.Failed, msg: "HTTP_5XX_ERROR"},
		{name: "details not an object (no probe found)", lines: []string{"ALERT: " + jsonLine(t, map[string]any{"alert": "HTTP_5XX_ERROR", "details": "500 on /error?probe=" + ps[2].ID})},
			status: result.Failed, msg: "exactly one ALERT"},
		{name: "details differ from the request", lines: []string{alertLine(t, func() map[string]any {
			m := record(ps[2].access, "ERROR")
			m["status_code"] = "500"
			return m
		}())}, status: result.Failed, msg: "status_code"},
		{name: "the 5xx probe not logged by nginx", lines: []string{alertLine(t, errRec)},
			change: func(ps []*sentProbe) { ps[2].logged, ps[2].access = false, exercise.AccessEntry{} },
			status: result.Failed, msg: "access.log"},
		{name: "a record on the same stream is not an alert", lines: []string{jsonLine(t, errRec), alertLine(t, errRec)},
			status: result.Passed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := sent()
			if tt.change != nil {
				tt.change(ps)
			}
			_, alerts := parseOutput(tt.lines)
			v := alertsCheck(ps, alerts, noEvidence)
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.msg)
		})
	}

	t.Run("evidence attached when the alert is missing", func(t *testing.T) {
		v := alertsCheck(sent(), map[string][]parsed{}, func() []string { return []string{"log-processor: last lines"} })
		assert.Equal(t, []string{"log-processor: last lines"}, v.Evidence)
	})
}

// The helpers above must build what the reference processor prints; guard against a helper that hides a mismatch.
func TestHelpersMatchReferenceShape(t *testing.T) {
	ps := sent()
	line := jsonLine(t, record(ps[2].access, "ERROR"))
	for _, k := range recordKeys {
		assert.Contains(t, line, fmt.Sprintf("%q:", k))
	}
	assert.Contains(t, line, `"status_code":500`)
	assert.Contains(t, line, `\\x22quoted\\x22`, "nginx's escapes travel through JSON as literal backslashes")
}
