package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

func TestExitCode(t *testing.T) {
	graded := func(score, max int) *result.Submission {
		return &result.Submission{Status: result.StatusGraded, Score: score, MaxScore: max}
	}
	tests := []struct {
		name      string
		sub       *result.Submission
		passScore int
		want      int
	}{
		{"full marks", graded(52, 52), 0, 0},
		{"below max", graded(51, 52), 0, 1},
		{"negative pass score means max", graded(51, 52), -1, 1},
		{"at pass score", graded(40, 52), 40, 0},
		{"above pass score", graded(45, 52), 40, 0},
		{"below pass score", graded(39, 52), 40, 1},
		{"pass score above max is unreachable", graded(52, 52), 60, 1},
		{"nothing to score", graded(0, 0), 0, 0},
		{"error beats a full score", &result.Submission{Status: result.StatusError, Score: 52, MaxScore: 52}, 0, 3},
		{"error with pass score", &result.Submission{Status: result.StatusError, Score: 10, MaxScore: 52}, 5, 3},
		{"fixture full", fullMarks(), 0, ExitPass},
		{"fixture failures", withFailures(), 0, ExitFail},
		{"fixture error", withError(), 0, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ExitCode(tt.sub, tt.passScore))
		})
	}
}

func TestAnnotations(t *testing.T) {
	tests := []struct {
		name  string
		check result.Check
		want  []string
	}{
		{"passed: none", result.Check{ID: "ex1.ready", Status: result.Passed, Message: "ok"}, nil},
		{"skipped: none", result.Check{ID: "ex1.ready", Status: result.Skipped, Message: "cannot"}, nil},
		{"failed with hint",
			result.Check{ID: "ex1.ready", Status: result.Failed, Message: "expected Ready; saw CrashLoopBackOff", Hint: "check the command"},
			[]string{"::error title=ex1.ready::expected Ready; saw CrashLoopBackOff Hint: check the command"}},
		{"failed without hint",
			result.Check{ID: "ex1.ready", Status: result.Failed, Message: "expected Ready"},
			[]string{"::error title=ex1.ready::expected Ready"}},
		{"error",
			result.Check{ID: "ex3.ready", Status: result.Error, Message: "apply failed"},
			[]string{"::error title=ex3.ready::apply failed"}},
		{"data escaping: %, CR, LF; : and , stay",
			result.Check{ID: "ex1.processed", Status: result.Failed, Message: "100% of 5\r\nlines: a, b", Hint: "use %s\nnot %d"},
			[]string{"::error title=ex1.processed::100%25 of 5%0D%0Alines: a, b Hint: use %25s%0Anot %25d"}},
		{"property escaping: %, CR, LF, :, ,",
			result.Check{ID: "odd:id,with%\r\n", Status: result.Failed, Message: "m"},
			[]string{"::error title=odd%3Aid%2Cwith%25%0D%0A::m"}},
		{"already-escaped text is escaped again, not decoded",
			result.Check{ID: "ex1.x", Status: result.Failed, Message: "%0A literally"},
			[]string{"::error title=ex1.x::%250A literally"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &result.Submission{Exercises: []result.Exercise{{ID: "ex1", Checks: []result.Check{tt.check}}}}
			got := Annotations(s)
			assert.Equal(t, tt.want, got)
			for _, line := range got {
				assert.NotContains(t, line, "\n")
				assert.NotContains(t, line, "\r")
			}
		})
	}
}

func TestAnnotationsFixtures(t *testing.T) {
	assert.Empty(t, Annotations(fullMarks()))
	got := Annotations(withFailures())
	assert.Len(t, got, 2)
	assert.True(t, strings.HasPrefix(got[0], "::error title=ex1.processed::expected 5 [PROCESSED] lines within 10s; saw 3 | first missing: \"GET /?probe=p4\"%0Alast seen <none> Hint: "))
	assert.True(t, strings.HasPrefix(got[1], "::error title=adv.probes::"))
	got = Annotations(withError())
	assert.Equal(t, []string{
		"::error title=ex3.ready::apply%3A the server could not find the requested resource, kind=PersistentVolumeClaim",
		"::error title=ex3.containers::expected container app to run python:3.11-alpine; saw python:3.12 Hint: use the lab's image",
	}[1:], got[1:])
	assert.Equal(t, "::error title=ex3.ready::apply: the server could not find the requested resource, kind=PersistentVolumeClaim", got[0],
		"':' and ',' are escaped in properties only")
}

func TestAnnotationsStopAtGitHubsLimit(t *testing.T) {
	var checks []result.Check
	for i := range 14 {
		checks = append(checks, result.Check{ID: fmt.Sprintf("ex1.c%02d", i), Status: result.Failed, Message: "bad"})
	}
	checks = append(checks, result.Check{ID: "ex1.ok", Status: result.Passed})
	s := &result.Submission{Exercises: []result.Exercise{{ID: "ex1", Checks: checks}}}
	got := Annotations(s)
	require.Len(t, got, MaxAnnotations)
	assert.Equal(t, "::error title=ex1.c08::bad", got[MaxAnnotations-2])
	assert.Equal(t, "::error title=5 more checks::5 more checks failed or errored: ex1.c09, ex1.c10, ex1.c11, ex1.c12, ex1.c13. "+
		"GitHub shows at most 10 annotations per step; the job summary lists them all.", got[MaxAnnotations-1])

	s.Exercises[0].Checks = checks[:MaxAnnotations]
	assert.Len(t, Annotations(s), MaxAnnotations, "exactly the limit: no summary line")
	assert.Equal(t, "::error title=ex1.c09::bad", Annotations(s)[MaxAnnotations-1])
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name       string
		exerciseID string
		check      result.Check
		want       string
	}{
		{"passed", "ex1",
			result.Check{ID: "ex1.ready", Status: result.Passed, Points: 2, MaxPoints: 2, Message: "Pod Ready with 2 containers running"},
			"  ✔ ex1.ready                2/2  Pod Ready with 2 containers running"},
		{"failed", "ex1",
			result.Check{ID: "ex1.processed", Status: result.Failed, Points: 0, MaxPoints: 3, Message: "expected 5 lines; saw 3"},
			"  ✘ ex1.processed            0/3  expected 5 lines; saw 3"},
		{"skipped", "ex1",
			result.Check{ID: "ex1.verbatim", Status: result.Skipped, MaxPoints: 1, Message: "cannot split stdout from stderr"},
			"  ⊘ ex1.verbatim             -/1  cannot split stdout from stderr"},
		{"error", "ex3",
			result.Check{ID: "ex3.ready", Status: result.Error, MaxPoints: 2, Message: "apply failed"},
			"  ! ex3.ready                0/2  apply failed"},
		{"longest rubric ID, two-digit points", "ex2",
			result.Check{ID: "ex2.api-content-type", Status: result.Passed, Points: 10, MaxPoints: 10, Message: "ok"},
			"  ✔ ex2.api-content-type   10/10  ok"},
		{"multi-line message: first line only", "ex1",
			result.Check{ID: "ex1.ready", Status: result.Failed, MaxPoints: 2, Message: "line one\nline two"},
			"  ✘ ex1.ready                0/2  line one …"},
		{"no message: no trailing spaces", "ex1",
			result.Check{ID: "ex1.ready", Status: result.Passed, Points: 2, MaxPoints: 2},
			"  ✔ ex1.ready                2/2"},
		{"ID without the exercise prefix", "ex1",
			result.Check{ID: "ready", Status: result.Passed, Points: 2, MaxPoints: 2, Message: "ok"},
			"  ✔ ex1.ready                2/2  ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ProgressLine(tt.exerciseID, tt.check))
		})
	}
}

func TestProgressLineLongMessage(t *testing.T) {
	c := result.Check{ID: "ex1.ready", Status: result.Failed, MaxPoints: 2, Message: strings.Repeat("é", 500)}
	line := ProgressLine("ex1", c)
	_, msg, _ := strings.Cut(line, "0/2  ")
	assert.Equal(t, maxProgressMessage, len([]rune(msg)))
	assert.True(t, strings.HasSuffix(msg, "…"))
}

func TestTable(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			got := Table(f.sub())
			golden(t, "table-"+f.name+".txt", got)
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			for _, l := range lines {
				assert.Equal(t, strings.TrimRight(l, " "), l, "no trailing spaces")
			}
			// Right-aligned numbers: the header and every row end at the same column.
			width := len([]rune(lines[0]))
			for _, l := range lines[1 : len(lines)-2] {
				assert.Equal(t, width, len([]rune(l)), "aligned: %q", l)
			}
		})
	}
}
