package report

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"time"

	"github.com/sidecar-lab/grader/grader/result"
)

// maxFailedListed bounds the failed check IDs listed in a student's row of class.html.
const maxFailedListed = 6

// maxHTMLText bounds a message or hint shown in class.html, in runes.
const maxHTMLText = 400

// ClassHTML renders class.html: one self-contained page (inline CSS, no script, no external resource; a
// Content-Security-Policy forbids both) with the class's summary, a table of students × exercises (cells coloured by
// the share of points: green full marks, amber half or more, red below, grey no score), each student's total and
// failed checks, the pass rate of every check, the ten most common failures with their most frequent hint, and the
// submissions whose grading errored. Every text is escaped by html/template; a student's name links to its reports
// (<name>/summary.md, relative to the page).
func ClassHTML(c *Class) ([]byte, error) {
	var buf bytes.Buffer
	if err := classTemplate.Execute(&buf, newClassView(c)); err != nil {
		return nil, fmt.Errorf("report: render class.html: %w", err)
	}
	return buf.Bytes(), nil
}

type classView struct {
	Dir       string
	Meta      []string
	Cards     []cardView
	Exercises []string
	Rows      []rowView
	Checks    []checkView
	Failures  []failureView
	Errors    []errorView
	Students  int
	Cols      int // columns of the students table
}

type cardView struct{ Label, Value, Class string }

type rowView struct {
	Name, Href string
	Cells      []cellView
	Total      cellView
	Failed     []failedView
	More       int
}

type failedView struct {
	ID       string
	Advisory bool // worth no points
}

type cellView struct{ Text, Class, Title string }

type checkView struct {
	ID, Exercise, Title             string
	Passed, Failed, Skipped, Errors int
	Rate                            string
	Pct                             int
	Class                           string
}

type failureView struct {
	Rank      int
	ID, Title string
	Count, Of int
	Hint      string
	HintCount int
}

type errorView struct{ Name, Message string }

func newClassView(c *Class) classView {
	v := classView{Dir: c.Dir, Exercises: c.exerciseIDs(), Students: len(c.Students)}
	v.Cols = len(v.Exercises) + 3
	if c.GraderVersion != "" {
		v.Meta = append(v.Meta, "grader "+c.GraderVersion)
	}
	if c.Rubric != "" {
		v.Meta = append(v.Meta, "rubric "+c.Rubric)
	}
	if !c.StartedAt.IsZero() {
		v.Meta = append(v.Meta, "started "+c.StartedAt.UTC().Format(time.RFC3339))
	}
	if c.DurationS > 0 {
		d := time.Duration(c.DurationS*1000) * time.Millisecond
		if d < 10*time.Second {
			v.Meta = append(v.Meta, fmt.Sprintf("took %.1f s", d.Seconds()))
		} else {
			v.Meta = append(v.Meta, "took "+d.Round(time.Second).String())
		}
	}
	if c.Parallel > 0 {
		v.Meta = append(v.Meta, fmt.Sprintf("%d graded at once", c.Parallel))
	}

	var scores []float64
	full, errs := 0, 0
	maxScore := 0
	for _, st := range c.Students {
		row := rowView{Name: cleanText(st.Name), Href: "./" + url.PathEscape(st.Name) + "/" + SummaryFile}
		for _, id := range v.Exercises {
			e := st.exercise(id)
			switch {
			case !st.graded():
				row.Cells = append(row.Cells, cellView{Text: "–", Class: "na", Title: "no score: grading did not finish"})
			case e == nil:
				row.Cells = append(row.Cells, cellView{Text: "–", Class: "na", Title: id + " was not graded"})
			default:
				row.Cells = append(row.Cells, scoreCell(e.Score, e.MaxScore, fmt.Sprintf("%s: %d of %d points", id, e.Score, e.MaxScore)))
			}
		}
		if st.graded() {
			s := st.Submission
			row.Total = scoreCell(s.Score, s.MaxScore, fmt.Sprintf("%d of %d points", s.Score, s.MaxScore))
			if s.MaxScore > 0 {
				scores = append(scores, float64(s.Score)/float64(s.MaxScore))
				maxScore = max(maxScore, s.MaxScore)
			}
			if s.MaxScore > 0 && s.Score == s.MaxScore {
				full++
			}
		} else {
			errs++
			msg := "it was not graded"
			if st.Submission != nil && st.Submission.Error != nil {
				msg = *st.Submission.Error
			}
			msg = truncateRunes(cleanText(msg), maxHTMLText)
			row.Total = cellView{Text: "error", Class: "err", Title: "no score should be recorded: " + msg}
			v.Errors = append(v.Errors, errorView{Name: row.Name, Message: msg})
		}
		if st.Submission != nil {
			for _, e := range st.Submission.Exercises {
				for _, ch := range e.Checks {
					if ch.Status == result.Failed {
						if len(row.Failed) < maxFailedListed {
							row.Failed = append(row.Failed, failedView{ID: cleanText(ch.ID), Advisory: ch.MaxPoints == 0})
						} else {
							row.More++
						}
					}
				}
			}
		}
		v.Rows = append(v.Rows, row)
	}

	v.Cards = append(v.Cards, cardView{Label: "submissions", Value: fmt.Sprint(len(c.Students))})
	if len(scores) > 0 {
		sort.Float64s(scores)
		mean := 0.0
		for _, s := range scores {
			mean += s
		}
		mean /= float64(len(scores))
		median := scores[len(scores)/2]
		if len(scores)%2 == 0 {
			median = (scores[len(scores)/2-1] + scores[len(scores)/2]) / 2
		}
		v.Cards = append(v.Cards,
			cardView{Label: "mean score", Value: fmt.Sprintf("%.0f%%", 100*mean)},
			cardView{Label: "median score", Value: fmt.Sprintf("%.0f%%", 100*median)})
	}
	v.Cards = append(v.Cards, cardView{Label: "full marks", Value: fmt.Sprint(full), Class: "full"})
	errClass := ""
	if errs > 0 {
		errClass = "low"
	}
	v.Cards = append(v.Cards, cardView{Label: "grading errors", Value: fmt.Sprint(errs), Class: errClass})

	for _, s := range CheckStats(c) {
		cv := checkView{ID: cleanText(s.ID), Exercise: cleanText(s.Exercise), Title: cleanText(s.Title),
			Passed: s.Passed, Failed: s.Failed, Skipped: s.Skipped, Errors: s.Errors, Rate: "–", Class: "na"}
		if r, ok := s.PassRate(); ok {
			cv.Pct = int(100*r + 0.5)
			cv.Rate = fmt.Sprintf("%d%%", cv.Pct)
			cv.Class = shareClass(r)
		}
		v.Checks = append(v.Checks, cv)
	}
	for i, f := range CommonFailures(c, 10) {
		v.Failures = append(v.Failures, failureView{Rank: i + 1, ID: cleanText(f.ID), Title: cleanText(f.Title),
			Count: f.Count, Of: len(c.Students), Hint: truncateRunes(cleanText(f.Hint), maxHTMLText), HintCount: f.HintCount})
	}
	return v
}

// scoreCell is a score as "score/max", classed by its share of the maximum.
func scoreCell(score, maxScore int, title string) cellView {
	if maxScore <= 0 {
		return cellView{Text: fmt.Sprintf("%d/%d", score, maxScore), Class: "na", Title: title + " (every check skipped)"}
	}
	return cellView{Text: fmt.Sprintf("%d/%d", score, maxScore), Class: shareClass(float64(score) / float64(maxScore)), Title: title}
}

// shareClass is the CSS class of a share of points or a pass rate: full (1), part (>= 0.5) or low.
func shareClass(r float64) string {
	switch {
	case r >= 1:
		return "full"
	case r >= 0.5:
		return "part"
	}
	return "low"
}

var classTemplate = template.Must(template.New("class.html").Parse(classHTML))

const classHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab 7 class report: {{.Dir}}</title>
<style>
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --head:#f6f8fa;
  --full:#d1f4dc; --full-fg:#0f5323; --part:#fff1c2; --part-fg:#6b4b00; --low:#ffd8d3; --low-fg:#82071e;
  --na:#eef1f4; --na-fg:#59636e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta span + span::before { content: " · "; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 8px; padding: 0; list-style: none; }
.cards li { border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px; min-width: 120px; }
.cards b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.cards .full b { color: var(--full-fg); }
.cards .low b { color: var(--low-fg); }
.cards small { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
#students td { vertical-align: middle; }
td code { white-space: nowrap; }
thead th { background: var(--head); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.score, td.score { text-align: center; font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; width: 84px; }
td.total { width: 96px; }
.full { background: var(--full); color: var(--full-fg); }
.part { background: var(--part); color: var(--part-fg); }
.low { background: var(--low); color: var(--low-fg); }
.na { background: var(--na); color: var(--na-fg); font-weight: normal; }
.err { background: repeating-linear-gradient(45deg, #eef1f4, #eef1f4 6px, #e2e6ea 6px, #e2e6ea 12px); color: #57606a; font-style: italic; }
.cards li.full, .cards li.low { background: #fff; }
td.name { font-weight: 600; overflow-wrap: anywhere; min-width: 240px; max-width: 320px; }
td.name a { color: inherit; text-decoration: none; border-bottom: 1px dotted var(--muted); }
code, .ids { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
.ids { color: var(--muted); }
.ids code { display: inline-block; margin: 1px 6px 1px 0; padding: 0 4px; border-radius: 4px; background: var(--low); color: var(--low-fg); }
.ids code.adv { background: var(--na); color: var(--na-fg); }
.none { color: var(--full-fg); }
.bar { display: inline-block; width: 120px; height: 10px; background: var(--na); border-radius: 5px; vertical-align: middle; margin-right: 8px; overflow: hidden; }
.bar i { display: block; height: 100%; }
.bar i.full { background: #2da44e; } .bar i.part { background: #d4a72c; } .bar i.low { background: #cf222e; }
td.rate { white-space: nowrap; width: 190px; font-variant-numeric: tabular-nums; }
.hint { color: var(--fg); }
.hint small { color: var(--muted); white-space: nowrap; }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.legend span { display: inline-block; padding: 0 6px; border-radius: 4px; margin-right: 4px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { body { padding: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
</style>
</head>
<body>
<header>
<h1>Lab 7 class report</h1>
<p class="meta"><span>{{.Dir}}</span>{{range .Meta}}<span>{{.}}</span>{{end}}</p>
<ul class="cards">{{range .Cards}}<li{{if .Class}} class="{{.Class}}"{{end}}><b>{{.Value}}</b><small>{{.Label}}</small></li>{{end}}</ul>
</header>

<section id="students">
<h2>Students</h2>
<table>
<thead><tr><th>Student</th>{{range .Exercises}}<th class="score">{{.}}</th>{{end}}<th class="score">Total</th><th>Failed checks</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td class="name"><a href="{{.Href}}">{{.Name}}</a></td>{{range .Cells}}<td class="score {{.Class}}" title="{{.Title}}">{{.Text}}</td>{{end}}<td class="score total {{.Total.Class}}" title="{{.Total.Title}}">{{.Total.Text}}</td><td class="ids">{{range .Failed}}<code{{if .Advisory}} class="adv" title="advisory: 0 points"{{end}}>{{.ID}}</code>{{else}}{{if eq .Total.Class "err"}}–{{else}}<span class="none">none</span>{{end}}{{end}}{{if .More}} and {{.More}} more{{end}}</td></tr>
{{- else}}
<tr><td colspan="{{.Cols}}">No submissions.</td></tr>
{{- end}}
</tbody>
</table>
<p class="legend"><span class="full">full marks</span><span class="part">half or more</span><span class="low">below half</span><span class="na">not graded</span><span class="err">grading error: no score</span></p>
</section>

<section id="checks">
<h2>Pass rate per check</h2>
<table>
<thead><tr><th>Check</th><th>Title</th><th class="num">Passed</th><th class="num">Failed</th><th class="num">Skipped</th><th class="num">Errors</th><th>Pass rate</th></tr></thead>
<tbody>
{{- range .Checks}}
<tr><td><code>{{.ID}}</code></td><td>{{.Title}}</td><td class="num">{{.Passed}}</td><td class="num">{{.Failed}}</td><td class="num">{{.Skipped}}</td><td class="num">{{.Errors}}</td><td class="rate"><span class="bar"><i class="{{.Class}}" style="width: {{.Pct}}%"></i></span>{{.Rate}}</td></tr>
{{- end}}
</tbody>
</table>
<p class="legend">Pass rate = passed / (passed + failed); skipped checks and grader errors are no verdict on a student.</p>
</section>

<section id="failures">
<h2>Most common failures</h2>
{{- if .Failures}}
<table>
<thead><tr><th class="num">#</th><th>Check</th><th class="num">Failed by</th><th>Most frequent hint</th></tr></thead>
<tbody>
{{- range .Failures}}
<tr><td class="num">{{.Rank}}</td><td><code>{{.ID}}</code><br><small>{{.Title}}</small></td><td class="num">{{.Count}} of {{.Of}}</td><td class="hint">{{if .Hint}}{{.Hint}} <small>({{.HintCount}} of {{.Count}})</small>{{else}}–{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No check was failed.</p>
{{- end}}
</section>
{{- if .Errors}}

<section id="errors">
<h2>Grading errors (no score should be recorded)</h2>
<table>
<thead><tr><th>Student</th><th>Error</th></tr></thead>
<tbody>
{{- range .Errors}}
<tr><td class="name">{{.Name}}</td><td>{{.Message}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}

<footer>Each student's reports (results.json, junit.xml, summary.md, …) are in the folder of the same name next to this page; class.csv and checks.csv hold these tables.</footer>
</body>
</html>
`
