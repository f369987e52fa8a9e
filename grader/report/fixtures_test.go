package report

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites that file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./grader/internal/report/... -update")
	require.Equal(t, string(want), got, "golden file %s differs; review, then run with -update", path)
}

var startedAt = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func check(id, title string, kind result.Kind, st result.Status, max int, msg, hint string, evidence ...string) result.Check {
	return result.Check{ID: id, Title: title, Kind: kind, Status: st, MaxPoints: max, Message: msg, Hint: hint, Evidence: evidence}
}

func submission(exercises ...result.Exercise) *result.Submission {
	s := &result.Submission{
		GraderVersion: "0.4.0",
		Submission:    "students/alice",
		Rubric:        "default",
		StartedAt:     startedAt,
		DurationS:     187.25,
		Exercises:     exercises,
	}
	s.Tally()
	return s
}

// fullMarks: every check passes. Evidence is nil on purpose (results.json must still say []).
func fullMarks() *result.Submission {
	return submission(
		result.Exercise{ID: "ex1", Title: "Basic sidecar", DurationS: 41.5, Checks: []result.Check{
			check("ex1.manifest", "manifest declares the lab's objects", result.Static, result.Passed, 1, "Pod web-with-sidecar and ConfigMap web-content found", ""),
			check("ex1.ready", "Pod Ready", result.Runtime, result.Passed, 2, "Pod Ready with 2 containers running", ""),
			check("ex1.processed", "sidecar processes every access-log line", result.Runtime, result.Passed, 3, "5/5 probes processed in order", ""),
		}},
		result.Exercise{ID: "ex2", Title: "Advanced log processing", DurationS: 60, Checks: []result.Check{
			check("ex2.routes", "routes answer", result.Runtime, result.Passed, 2, "/, /api and /error answered 200, 200, 500", ""),
			check("ex2.api-content-type", "one Content-Type on /api", result.Runtime, result.Passed, 1, "one Content-Type: application/json", ""),
		}},
	)
}

// nastyEvidence holds everything that breaks naive reports: %, newlines, |, ", <, ]]>, an ANSI escape, backticks.
const nastyEvidence = "log-sidecar (last 3 lines):\n" +
	"[PROCESSED] 2026-03-14 09:27:01 - 10.244.0.1 - - \"GET /?probe=p1%20x HTTP/1.1\" 200 | <b>\n" +
	"\x1b[31mred\x1b[0m ]]> ```fence``` & done\r\n" +
	"50% done"

// withFailures: failed checks with hints and evidence, a skipped check, an advisory exercise.
func withFailures() *result.Submission {
	long := "events:\n" + strings.Repeat("Warning BackOff restarting failed container log-sidecar\n", 400)
	return submission(
		result.Exercise{ID: "ex1", Title: "Basic sidecar", DurationS: 52.125, Checks: []result.Check{
			check("ex1.manifest", "manifest declares the lab's objects", result.Static, result.Passed, 1, "Pod web-with-sidecar and ConfigMap web-content found", ""),
			check("ex1.ready", "Pod Ready", result.Runtime, result.Passed, 2, "Pod Ready with 2 containers running", ""),
			check("ex1.processed", "sidecar processes every access-log line", result.Runtime, result.Failed, 3,
				"expected 5 [PROCESSED] lines within 10s; saw 3 | first missing: \"GET /?probe=p4\"\nlast seen <none>",
				"read the log with `tail -F` and print each line with its timestamp: 100% of lines, in order",
				nastyEvidence, long),
			check("ex1.verbatim", "quotes and backslashes survive", result.Runtime, result.Skipped, 1,
				"the cluster cannot split the container's stdout from its stderr", ""),
		}},
		result.Exercise{ID: "adv", Title: "Advisory", DurationS: 3, Checks: []result.Check{
			check("adv.probes", "readiness probes", result.Static, result.Failed, 0,
				"expected a readiness probe on web-app; saw none", "add readinessProbe: httpGet / port 80"),
		}},
	)
}

// withError: the cluster broke during one check.
func withError() *result.Submission {
	return submission(
		result.Exercise{ID: "ex3", Title: "Persistent storage", DurationS: 120, Checks: []result.Check{
			check("ex3.manifest", "manifest declares the lab's objects", result.Static, result.Passed, 1, "PVC log-storage and Pod persistent-log-demo found", ""),
			check("ex3.ready", "PVC Bound and Pod Ready", result.Runtime, result.Error, 2,
				"apply: the server could not find the requested resource, kind=PersistentVolumeClaim", "",
				"events:\nFailedScheduling: 0/1 nodes are available"),
			check("ex3.containers", "images and containers", result.Static, result.Failed, 1,
				"expected container app to run python:3.11-alpine; saw python:3.12", "use the lab's image"),
		}},
	)
}

// fixtures are the recorded submissions every table-driven test runs over.
var fixtures = []struct {
	name string
	sub  func() *result.Submission
}{
	{"full", fullMarks},
	{"failures", withFailures},
	{"error", withError},
}
