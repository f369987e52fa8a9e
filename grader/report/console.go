package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sidecar-lab/grader/grader/result"
)

// Exit codes of the grader (RUBRIC.md "Exit codes"). ExitUsage belongs to the CLI; ExitCode returns the others.
const (
	ExitPass  = 0 // graded, at the maximum or at the pass score
	ExitFail  = 1 // graded, below it
	ExitUsage = 2 // usage error (the CLI's)
	ExitError = 3 // the grader or the cluster failed; no score should be recorded
)

// ExitCode is the grader's exit code for s: ExitError (3) when its status is error, ExitPass (0) when its score
// reaches passScore (passScore <= 0 means the maximum score), ExitFail (1) otherwise.
func ExitCode(s *result.Submission, passScore int) int {
	if s.Status == result.StatusError {
		return ExitError
	}
	if passScore <= 0 {
		passScore = s.MaxScore
	}
	if s.Score >= passScore {
		return ExitPass
	}
	return ExitFail
}

// progressIDWidth is the column the check IDs are padded to; the longest rubric ID has 20 characters.
const progressIDWidth = 22

// maxProgressMessage bounds the message on a progress line, in runes.
const maxProgressMessage = 120

// progressSymbol is a check status as a progress line shows it: ✔ passed, ✘ failed, ⊘ skipped, ! error.
func progressSymbol(st result.Status) string {
	switch st {
	case result.Passed:
		return "✔"
	case result.Failed:
		return "✘"
	case result.Skipped:
		return "⊘"
	case result.Error:
		return "!"
	}
	return "?"
}

// ProgressLine is the line the CLI prints as a check finishes, indented by two spaces, e.g.
//
//	"  ✔ ex1.ready                2/2  Pod Ready with 2 containers running"
//
// with ✘ for a failed check, ⊘ for a skipped one (points shown as -/max) and ! for an error. The ID is padded so the
// points line up; the message is its first line, shortened to 120 characters. The check ID is shown as is; when it
// does not start with "<exerciseID>.", it is prefixed with it. There is no trailing newline.
func ProgressLine(exerciseID string, c result.Check) string {
	id := c.ID
	if exerciseID != "" && !strings.HasPrefix(id, exerciseID+".") {
		id = exerciseID + "." + id
	}
	points := fmt.Sprintf("%d/%d", c.Points, c.MaxPoints)
	if c.Status == result.Skipped {
		points = fmt.Sprintf("-/%d", c.MaxPoints)
	}
	msg := truncateRunes(firstLine(c.Message), maxProgressMessage)
	line := fmt.Sprintf("  %s %s %5s  %s", progressSymbol(c.Status), padRight(id, progressIDWidth), points, msg)
	return strings.TrimRight(line, " ")
}

// Table is the plain-text summary the CLI prints after grading: one row per exercise (ID, title, score, maximum,
// passed, failed, skipped and error counts), a total row, and a closing status line (with the error when the status
// is error). Columns are aligned with spaces; every line ends with a newline.
func Table(s *result.Submission) string {
	rows := [][]string{{"Exercise", "Title", "Score", "Max", "Passed", "Failed", "Skipped", "Errors"}}
	rightAligned := []bool{false, false, true, true, true, true, true, true}
	var total counts
	for _, e := range s.Exercises {
		n := countChecks(e.Checks)
		total.add(n)
		rows = append(rows, []string{
			e.ID, truncateRunes(firstLine(e.Title), 40),
			strconv.Itoa(e.Score), strconv.Itoa(e.MaxScore),
			strconv.Itoa(n.passed), strconv.Itoa(n.failed), strconv.Itoa(n.skipped), strconv.Itoa(n.errored),
		})
	}
	rows = append(rows, []string{
		"Total", "",
		strconv.Itoa(s.Score), strconv.Itoa(s.MaxScore),
		strconv.Itoa(total.passed), strconv.Itoa(total.failed), strconv.Itoa(total.skipped), strconv.Itoa(total.errored),
	})

	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	rule := make([]string, len(widths))
	for i, w := range widths {
		rule[i] = strings.Repeat("-", w)
	}
	var b strings.Builder
	writeRow := func(row []string) {
		cells := make([]string, len(row))
		for i, cell := range row {
			if rightAligned[i] {
				cells[i] = padLeft(cell, widths[i])
			} else {
				cells[i] = padRight(cell, widths[i])
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(cells, "  "), " ") + "\n")
	}
	writeRow(rows[0])
	writeRow(rule)
	for _, row := range rows[1 : len(rows)-1] {
		writeRow(row)
	}
	writeRow(rule)
	writeRow(rows[len(rows)-1])

	if s.Status == result.StatusError {
		fmt.Fprintf(&b, "\nStatus: error (no score should be recorded): %s\n", firstLine(orDash(errorText(s))))
	} else {
		fmt.Fprintf(&b, "\nStatus: %s, score %d/%d\n", orDash(s.Status), s.Score, s.MaxScore)
	}
	return b.String()
}

func padRight(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func padLeft(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// Annotations returns one GitHub Actions workflow command per failed or error check, in report order:
//
//	::error title=<check id>::<message> Hint: <hint>
//
// (" Hint: <hint>" only when the check has a hint), at most MaxAnnotations of them. The message is escaped as workflow command data (% → %25,
// CR → %0D, LF → %0A) and the title as a property value (the same, plus : → %3A and , → %2C), as @actions/core does.
func Annotations(s *result.Submission) []string {
	var out, ids []string
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			if c.Status != result.Failed && c.Status != result.Error {
				continue
			}
			msg := c.Message
			if c.Hint != "" {
				msg += " Hint: " + c.Hint
			}
			out = append(out, "::error title="+escapeProperty(c.ID)+"::"+escapeData(msg))
			ids = append(ids, c.ID)
		}
	}
	if len(out) > MaxAnnotations {
		rest := ids[MaxAnnotations-1:]
		out = append(out[:MaxAnnotations-1], "::error title="+escapeProperty(fmt.Sprintf("%d more checks", len(rest)))+"::"+
			escapeData(fmt.Sprintf("%d more checks failed or errored: %s. GitHub shows at most %d annotations per step; the job summary lists them all.",
				len(rest), strings.Join(rest, ", "), MaxAnnotations)))
	}
	return out
}

// MaxAnnotations is how many error annotations GitHub Actions shows for one step; Annotations never returns more
// (the last one then names the checks left out).
const MaxAnnotations = 10

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a workflow command's data (after the final ::).
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
