package ex3

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

// appLogText builds application.log as the lab's app writes it (Python logging's default asctime): one line per
// (seconds after t0, level).
func appLogText(t0 time.Time, lines ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(lines); i += 2 {
		at := t0.Add(time.Duration(lines[i].(int)) * time.Second)
		fmt.Fprintf(&b, "%s,%03d - %s - Generated log entry #%d\n", at.Format("2006-01-02 15:04:05"), i*7%1000, lines[i+1], i/2+1)
	}
	return b.String()
}

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func TestParseAppLog(t *testing.T) {
	text := "2025-01-01 12:00:00,123 - INFO - Generated log entry #1\n" +
		"2025-01-01 12:00:03,004 - WARNING - Generated log entry #2\n" +
		"Traceback (most recent call last):\n" +
		"2025-01-01 12:00:07,999 - ERROR - Generated log entry #3 with - dashes - inside\n" +
		"2025-01-01 12:00:08 - INFO - no milliseconds\n" +
		"2025-01-01 12:00:09,000 - info - lower-case level\n" +
		"2025-01-01 12:00:10,000 - INFO - \n" +
		"INFO:root:Generated log entry #4\n"
	entries, bad := parseAppLog(text)
	require.Len(t, entries, 3)
	assert.Equal(t, "2025-01-01 12:00:00,123 - INFO - Generated log entry #1", entries[0].line)
	assert.Equal(t, []string{"INFO", "WARNING", "ERROR"}, []string{entries[0].level, entries[1].level, entries[2].level})
	assert.Equal(t, t0, entries[0].at)
	assert.Equal(t, t0.Add(3*time.Second), entries[1].at)
	assert.Equal(t, t0.Add(7*time.Second), entries[2].at)
	assert.Equal(t, []string{
		"Traceback (most recent call last):",
		"2025-01-01 12:00:08 - INFO - no milliseconds",
		"2025-01-01 12:00:09,000 - info - lower-case level",
		"2025-01-01 12:00:10,000 - INFO - ",
		"INFO:root:Generated log entry #4",
	}, bad)

	e, b := parseAppLog("")
	assert.Empty(t, e)
	assert.Empty(t, b)
}

func TestSummaryFormat(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		status result.Status
		msg    string
	}{
		{name: "date(1) output", text: "Wed Jan  1 12:00:10 UTC 2025: INFO:3, WARN:1, ERROR:0\nWed Jan  1 12:00:20 UTC 2025: INFO:6, WARN:2, ERROR:1\n",
			status: result.Passed, msg: "2 summary lines"},
		{name: "ISO date", text: "2025-01-01T12:00:10+00:00: INFO:10, WARN:0, ERROR:0\n", status: result.Passed},
		{name: "any date text", text: "cycle 7 at 12h00: INFO:0, WARN:0, ERROR:0\n", status: result.Passed},
		{name: "the lab's broken grep -c || echo 0 (two lines after WARN)",
			text: "Wed Jan  1 12:00:10 UTC 2025: INFO:3, WARN:0\n0, ERROR:0\n0\n", status: result.Failed, msg: "line 1"},
		{name: "a good line, then the broken form",
			text:   "Wed Jan  1 12:00:10 UTC 2025: INFO:3, WARN:1, ERROR:0\nWed Jan  1 12:00:20 UTC 2025: INFO:6, WARN:0\n0, ERROR:0\n0\n",
			status: result.Failed, msg: "line 2"},
		{name: "the broken form's continuation line alone", text: "0, ERROR:0\n", status: result.Failed, msg: `"0, ERROR:0"`},
		{name: "a bare 0", text: "Wed Jan  1 12:00:10 UTC 2025: INFO:1, WARN:1, ERROR:1\n0\n", status: result.Failed, msg: "line 2"},
		{name: "no date", text: "INFO:1, WARN:1, ERROR:1\n", status: result.Failed},
		{name: "no space after comma", text: "now: INFO:1,WARN:1,ERROR:1\n", status: result.Failed},
		{name: "WARNING instead of WARN", text: "now: INFO:1, WARNING:1, ERROR:1\n", status: result.Failed},
		{name: "trailing text", text: "now: INFO:1, WARN:1, ERROR:1 (ok)\n", status: result.Failed},
		{name: "empty", text: "", status: result.Failed, msg: "an empty or missing file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := summaryFormat(tt.text)
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.msg)
			if tt.status == result.Failed && tt.text != "" {
				assert.NotEmpty(t, v.Evidence, "a malformed summary shows its last lines")
			}
		})
	}
}

func TestSummaryCounts(t *testing.T) {
	// 0 s INFO, 5 s WARNING, 10 s ERROR, 15 s INFO, 20 s INFO, 28 s WARNING, 30 s ERROR.
	// The newest entry is at 30 s; the slack (13 s) covers entries after 17 s: INFO@20, WARNING@28, ERROR@30.
	log := appLogText(t0, 0, "INFO", 5, "WARNING", 10, "ERROR", 15, "INFO", 20, "INFO", 28, "WARNING", 30, "ERROR")
	entries, bad := parseAppLog(log)
	require.Empty(t, bad)
	require.Len(t, entries, 7)
	require.Equal(t, 13*time.Second, cycleSlack, "the cases below are laid out for a 13 s slack")

	tests := []struct {
		name    string
		summary string
		entries []appEntry
		status  result.Status
		msg     []string
	}{
		{name: "exact counts", summary: "d: INFO:3, WARN:2, ERROR:2", status: result.Passed},
		{name: "as of a cycle ago (newer entries not yet counted)", summary: "d: INFO:2, WARN:1, ERROR:1", status: result.Passed},
		{name: "in between", summary: "d: INFO:3, WARN:1, ERROR:2", status: result.Passed},
		{name: "only the latest line counts", summary: "d: INFO:0, WARN:0, ERROR:0\nd: INFO:3, WARN:2, ERROR:2", status: result.Passed},
		{name: "an old INFO missing", summary: "d: INFO:1, WARN:2, ERROR:2", status: result.Failed,
			msg: []string{"INFO:1 where application.log has 3 (2 older than one cycle)"}},
		{name: "WARNING entries counted as WARN", summary: "d: INFO:3, WARN:0, ERROR:2", status: result.Failed,
			msg: []string{"WARN:0 where application.log has 2 (1 older than one cycle)"}},
		{name: "an old ERROR missing", summary: "d: INFO:3, WARN:2, ERROR:0", status: result.Failed, msg: []string{"ERROR:0"}},
		{name: "too many", summary: "d: INFO:4, WARN:2, ERROR:2", status: result.Failed, msg: []string{"INFO:4 where application.log has 3"}},
		{name: "every level wrong, each reported", summary: "d: INFO:9, WARN:9, ERROR:9", status: result.Failed,
			msg: []string{"INFO:9", "WARN:9", "ERROR:9"}},
		{name: "counts of the wrong field (grep -c ERROR matches messages too)", summary: "d: INFO:7, WARN:7, ERROR:7", status: result.Failed},
		{name: "no summary", summary: "", status: result.Failed, msg: []string{"no summary.log lines"}},
		{name: "malformed latest line", summary: "d: INFO:3, WARN:2, ERROR:2\nd: INFO:3, WARN:0\n0, ERROR:2", status: result.Failed,
			msg: []string{"latest summary line"}},
		{name: "no application.log entries", summary: "d: INFO:0, WARN:0, ERROR:0", entries: []appEntry{}, status: result.Failed,
			msg: []string{"application.log entries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries
			if tt.entries != nil {
				es = tt.entries
			}
			v := summaryCounts(tt.summary, es)
			assert.Equal(t, tt.status, v.Status, v.Message)
			for _, m := range tt.msg {
				assert.Contains(t, v.Message, m)
			}
		})
	}

	t.Run("the slack is measured from the newest entry", func(t *testing.T) {
		// The same entries, then one more INFO much later: now every earlier entry is older than a cycle.
		es, _ := parseAppLog(log + appLogText(t0, 60, "INFO"))
		v := summaryCounts("d: INFO:2, WARN:1, ERROR:1", es)
		assert.Equal(t, result.Failed, v.Status, v.Message)
		v = summaryCounts("d: INFO:3, WARN:2, ERROR:2", es)
		assert.Equal(t, result.Passed, v.Status, "the newest INFO may still be missing: %s", v.Message)
	})
}

func TestErrorsArchive(t *testing.T) {
	// ERROR at 10 s and 30 s; newest entry at 40 s: the ERROR at 30 s is within the slack, the one at 10 s is not.
	log := appLogText(t0, 0, "INFO", 10, "ERROR", 20, "WARNING", 30, "ERROR", 40, "INFO")
	entries, bad := parseAppLog(log)
	require.Empty(t, bad)
	var errs []string
	for _, e := range entries {
		if e.level == "ERROR" {
			errs = append(errs, e.line)
		}
	}
	require.Len(t, errs, 2)
	warn := entries[2].line

	tests := []struct {
		name    string
		f       files
		entries []appEntry
		status  result.Status
		msg     string
	}{
		{name: "exactly the ERROR lines", f: files{errors: errs[0] + "\n" + errs[1] + "\n", errorsExist: true}, status: result.Passed,
			msg: "2 ERROR lines"},
		{name: "the newest ERROR not archived yet", f: files{errors: errs[0] + "\n", errorsExist: true}, status: result.Passed},
		{name: "the older ERROR missing", f: files{errors: "", errorsExist: true}, status: result.Failed, msg: "0 lines"},
		{name: "a missing file", f: files{errors: "", errorsExist: false}, status: result.Failed, msg: "no such file"},
		{name: "an extra line", f: files{errors: errs[0] + "\n" + errs[1] + "\n" + warn + "\n", errorsExist: true},
			status: result.Failed, msg: "3 lines"},
		{name: "the lines appended twice", f: files{errors: strings.Repeat(errs[0]+"\n"+errs[1]+"\n", 2), errorsExist: true},
			status: result.Failed, msg: "4 lines"},
		{name: "a WARNING line instead of an ERROR", f: files{errors: errs[0] + "\n" + warn + "\n", errorsExist: true},
			status: result.Failed, msg: "errors.log line 2"},
		{name: "lines reordered", f: files{errors: errs[1] + "\n" + errs[0] + "\n", errorsExist: true},
			status: result.Failed, msg: "errors.log line 1"},
		{name: "lines reformatted", f: files{errors: "ERROR: Generated log entry #2\n" + errs[1] + "\n", errorsExist: true},
			status: result.Failed, msg: "errors.log line 1"},
		{name: "no ERROR lines yet", f: files{errors: "", errorsExist: true}, entries: entries[:1], status: result.Failed, msg: "none yet"},
		{name: "no entries at all", f: files{errorsExist: false}, entries: []appEntry{}, status: result.Failed, msg: "none yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries
			if tt.entries != nil {
				es = tt.entries
			}
			v := errorsArchive(tt.f, es)
			assert.Equal(t, tt.status, v.Status, v.Message)
			assert.Contains(t, v.Message, tt.msg)
		})
	}
}
