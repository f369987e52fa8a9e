package report

// The class report: what an instructor reads after grading every submission of a class at once (grader
// --submissions DIR). class.csv has one row per student, checks.csv one row per check with its pass rate, and
// class.html shows both, with the most common failures. Like the per-submission reports, these are pure functions of
// their input; they never re-tally scores.
//
// Everything that comes from a submission (its directory's name, the checks' messages and hints) is untrusted:
// class.html escapes it with html/template, and the CSV files neutralise cells a spreadsheet would read as a formula.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sidecar-lab/grader/grader/result"
)

// File names of the class reports WriteClass writes.
const (
	ClassCSVFile  = "class.csv"
	ChecksCSVFile = "checks.csv"
	ClassHTMLFile = "class.html"
)

// ClassFiles are the names WriteClass writes into its directory; a submission of that name would clash with them.
var ClassFiles = []string{ClassCSVFile, ChecksCSVFile, ClassHTMLFile}

// DefaultClassExercises are the exercise columns of the class reports when Class.Exercises is empty.
var DefaultClassExercises = []string{"ex1", "ex2", "ex3"}

// Class is a graded class: every submission of a directory, each graded on its own.
type Class struct {
	// Dir is the directory the submissions were read from (shown in class.html).
	Dir string
	// GraderVersion and Rubric name the grader and the rubric used.
	GraderVersion string
	Rubric        string
	// StartedAt and DurationS time the whole batch; Parallel is how many submissions were graded at once.
	StartedAt time.Time
	DurationS float64
	Parallel  int
	// Exercises are the exercise IDs shown as columns, in order (nil: DefaultClassExercises).
	Exercises []string
	// Students are the submissions, in the order the reports list them.
	Students []Student
}

// Student is one submission of a class.
type Student struct {
	// Name is the submission directory's base name; its reports are in <class report dir>/<Name>/.
	Name string
	// Submission is its grading result; nil means it was not graded (it is reported as an error).
	Submission *result.Submission
}

// graded reports whether st has a score to record: it was graded and its status is not an error.
func (st Student) graded() bool {
	return st.Submission != nil && st.Submission.Status != result.StatusError
}

// status is the student's status as the class reports show it: "graded", "error" or "not graded".
func (st Student) status() string {
	switch {
	case st.Submission == nil:
		return "not graded"
	case st.Submission.Status == "":
		return result.StatusGraded
	}
	return st.Submission.Status
}

// exercise returns the student's exercise id, or nil when it was not graded.
func (st Student) exercise(id string) *result.Exercise {
	if st.Submission == nil {
		return nil
	}
	for i := range st.Submission.Exercises {
		if st.Submission.Exercises[i].ID == id {
			return &st.Submission.Exercises[i]
		}
	}
	return nil
}

func (c *Class) exerciseIDs() []string {
	if len(c.Exercises) > 0 {
		return c.Exercises
	}
	return DefaultClassExercises
}

// ClassCSV renders class.csv: a header `name,status,score,max_score,<exercise IDs>` (ex1,ex2,ex3 by default), then
// one row per student in c's order. status is "graded", "error" or "not graded". The score cells of a student whose
// grading errored are empty (no score should be recorded for them), and so is the cell of an exercise that was not
// graded. Names starting with = + - @ (which a spreadsheet would run as a formula) are prefixed with a quote.
func ClassCSV(c *Class) ([]byte, error) {
	ids := c.exerciseIDs()
	rows := [][]string{append([]string{"name", "status", "score", "max_score"}, ids...)}
	for _, st := range c.Students {
		row := []string{csvText(st.Name), st.status(), "", ""}
		if st.graded() {
			row[2], row[3] = strconv.Itoa(st.Submission.Score), strconv.Itoa(st.Submission.MaxScore)
		}
		for _, id := range ids {
			cell := ""
			if e := st.exercise(id); e != nil && st.graded() {
				cell = strconv.Itoa(e.Score)
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return writeCSV(rows)
}

// CheckStat is how a class did on one check.
type CheckStat struct {
	ID        string
	Exercise  string // the ID of the exercise (or advisory group) holding the check
	Title     string
	Kind      result.Kind
	MaxPoints int
	// Verdicts, one per student whose results hold the check.
	Passed, Failed, Skipped, Errors int
}

// PassRate is Passed / (Passed + Failed): skipped checks and grader errors are no verdict on the student. ok is false
// when no student has a passed or failed verdict.
func (s CheckStat) PassRate() (rate float64, ok bool) {
	n := s.Passed + s.Failed
	if n == 0 {
		return 0, false
	}
	return float64(s.Passed) / float64(n), true
}

// CheckStats counts each check's verdicts over the class, in rubric order (the order checks first appear in the
// students' results). Students whose grading errored count too: their checks in error are counted as Errors, and
// their other verdicts are real.
func CheckStats(c *Class) []CheckStat {
	var out []CheckStat
	index := map[string]int{}
	for _, st := range c.Students {
		if st.Submission == nil {
			continue
		}
		for _, e := range st.Submission.Exercises {
			for _, ch := range e.Checks {
				i, ok := index[ch.ID]
				if !ok {
					i = len(out)
					index[ch.ID] = i
					out = append(out, CheckStat{ID: ch.ID, Exercise: e.ID, Title: ch.Title, Kind: ch.Kind, MaxPoints: ch.MaxPoints})
				}
				switch ch.Status {
				case result.Passed:
					out[i].Passed++
				case result.Failed:
					out[i].Failed++
				case result.Skipped:
					out[i].Skipped++
				case result.Error:
					out[i].Errors++
				}
			}
		}
	}
	return out
}

// ChecksCSV renders checks.csv: a header `check,exercise,title,kind,max_points,passed,failed,skipped,errors,pass_rate`
// and one row per check (CheckStats' order). pass_rate is Passed/(Passed+Failed) with three decimals, empty when no
// student has either verdict.
func ChecksCSV(c *Class) ([]byte, error) {
	rows := [][]string{{"check", "exercise", "title", "kind", "max_points", "passed", "failed", "skipped", "errors", "pass_rate"}}
	for _, s := range CheckStats(c) {
		rate := ""
		if r, ok := s.PassRate(); ok {
			rate = strconv.FormatFloat(r, 'f', 3, 64)
		}
		rows = append(rows, []string{csvText(s.ID), csvText(s.Exercise), csvText(s.Title), string(s.Kind),
			strconv.Itoa(s.MaxPoints), strconv.Itoa(s.Passed), strconv.Itoa(s.Failed), strconv.Itoa(s.Skipped),
			strconv.Itoa(s.Errors), rate})
	}
	return writeCSV(rows)
}

// Failure is a check that students failed, for "most common failures".
type Failure struct {
	ID    string
	Title string
	// Count is how many students failed it.
	Count int
	// Hint is the hint given most often with the failure ("" when none had one); HintCount is how often it was given.
	Hint      string
	HintCount int
}

// CommonFailures returns the n checks failed by the most students (status failed; grader errors are not failures),
// most failed first, ties in rubric order, each with its most frequent non-empty hint (ties: the hint seen first).
func CommonFailures(c *Class, n int) []Failure {
	type acc struct {
		Failure
		order int
		hints map[string]int
		first []string // hints in order of first appearance
	}
	var all []*acc
	index := map[string]*acc{}
	for _, st := range c.Students {
		if st.Submission == nil {
			continue
		}
		for _, e := range st.Submission.Exercises {
			for _, ch := range e.Checks {
				if ch.Status != result.Failed {
					continue
				}
				a := index[ch.ID]
				if a == nil {
					a = &acc{Failure: Failure{ID: ch.ID, Title: ch.Title}, hints: map[string]int{}}
					index[ch.ID] = a
					all = append(all, a)
				}
				a.Count++
				if h := strings.TrimSpace(ch.Hint); h != "" {
					if a.hints[h] == 0 {
						a.first = append(a.first, h)
					}
					a.hints[h]++
				}
			}
		}
	}
	// Rubric order: the order of CheckStats, which sees every check (not only failed ones).
	order := map[string]int{}
	for i, s := range CheckStats(c) {
		order[s.ID] = i
	}
	for _, a := range all {
		a.order = order[a.ID]
		for _, h := range a.first {
			if a.hints[h] > a.HintCount {
				a.Hint, a.HintCount = h, a.hints[h]
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].order < all[j].order
	})
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	out := make([]Failure, len(all))
	for i, a := range all {
		out[i] = a.Failure
	}
	return out
}

// WriteClass renders class.csv, checks.csv and class.html for c and writes them into dir (created if missing), each
// atomically, as WriteAll does. Nothing is written when a report fails to render.
func WriteClass(dir string, c *Class) error {
	if c == nil {
		return errors.New("report: nil class")
	}
	classCSV, err := ClassCSV(c)
	if err != nil {
		return err
	}
	checksCSV, err := ChecksCSV(c)
	if err != nil {
		return err
	}
	html, err := ClassHTML(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: create output directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ClassCSVFile, classCSV}, {ChecksCSVFile, checksCSV}, {ClassHTMLFile, html}} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	syncDir(dir)
	return nil
}

func writeCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("report: write CSV: %w", err)
	}
	return buf.Bytes(), nil
}

// csvText neutralises a text cell that a spreadsheet would evaluate as a formula (OWASP "CSV injection"): a cell
// starting with = + - @ tab or CR gets a leading apostrophe. Control characters become U+FFFD.
func csvText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
