package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/sidecar-lab/grader/grader/result"
)

// maxCellMessage bounds a message inside a Markdown table cell, in runes; "How to fix" repeats it in full.
const maxCellMessage = 300

// statusBadge is a check status as the Markdown summary shows it: an emoji and the word.
func statusBadge(st result.Status) string {
	switch st {
	case result.Passed:
		return "✅ passed"
	case result.Failed:
		return "❌ failed"
	case result.Skipped:
		return "⏭️ skipped"
	case result.Error:
		return "⚠️ error"
	}
	return "❔ " + string(st)
}

// Markdown renders summary.md, what a person reads first (it is written to the GitHub step summary): a title naming
// the submission, the total score and status (with the error when the status is error), an overview table, one table
// per exercise (check, status, points, message), a "How to fix" section listing each failed check with its message,
// hint and evidence (in collapsible <details> blocks, each item elided to a few KiB), and the grader errors if any.
//
// Every text that comes from a check (messages, hints, titles) is escaped so that it renders literally: Markdown and
// HTML punctuation is backslash-escaped, and inside table cells `|` is escaped and line breaks become <br>. Evidence
// goes into fenced code blocks whose fence is longer than any backtick run it contains.
func Markdown(s *result.Submission) string {
	var b strings.Builder
	name := s.Submission
	if name == "" {
		name = "submission"
	}
	fmt.Fprintf(&b, "# Grading report: %s\n\n", mdInline(name))
	fmt.Fprintf(&b, "**Score: %d/%d**", s.Score, s.MaxScore)
	if s.Status == result.StatusError {
		b.WriteString(" · **Status: ⚠️ error**\n\n")
		fmt.Fprintf(&b, "> **The grader or the cluster failed**, so no score should be recorded; this is not a verdict on the submission. Re-run the grader, or ask your instructor.\n>\n> Error: %s\n\n",
			mdCell(orDash(errorText(s))))
	} else {
		fmt.Fprintf(&b, " · Status: %s\n\n", mdInline(orDash(s.Status)))
	}
	var meta []string
	if s.Rubric != "" {
		meta = append(meta, "Rubric: "+mdInline(s.Rubric))
	}
	if s.GraderVersion != "" {
		meta = append(meta, "Grader: "+mdInline(s.GraderVersion))
	}
	if !s.StartedAt.IsZero() {
		meta = append(meta, "Started: "+s.StartedAt.UTC().Format(time.RFC3339))
	}
	meta = append(meta, fmt.Sprintf("Duration: %.1f s", s.DurationS))
	b.WriteString(strings.Join(meta, " · ") + "\n\n")

	// Overview.
	if len(s.Exercises) > 0 {
		b.WriteString("| Exercise | Score | Passed | Failed | Skipped | Errors |\n|---|--:|--:|--:|--:|--:|\n")
		var total counts
		for _, e := range s.Exercises {
			n := countChecks(e.Checks)
			total.add(n)
			fmt.Fprintf(&b, "| %s | %d/%d | %d | %d | %d | %d |\n",
				mdCell(exerciseLabel(e)), e.Score, e.MaxScore, n.passed, n.failed, n.skipped, n.errored)
		}
		fmt.Fprintf(&b, "| **Total** | **%d/%d** | %d | %d | %d | %d |\n\n",
			s.Score, s.MaxScore, total.passed, total.failed, total.skipped, total.errored)
	}

	// One table per exercise.
	for _, e := range s.Exercises {
		fmt.Fprintf(&b, "## %s (%d/%d)\n\n", mdInline(exerciseLabel(e)), e.Score, e.MaxScore)
		if len(e.Checks) == 0 {
			b.WriteString("No checks.\n\n")
			continue
		}
		b.WriteString("| Check | Status | Points | Message |\n|---|---|--:|---|\n")
		for _, c := range e.Checks {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n",
				codeCell(c.ID), statusBadge(c.Status), pointsCell(c), mdCell(truncateRunes(c.Message, maxCellMessage)))
		}
		b.WriteString("\n")
	}

	// How to fix.
	b.WriteString("## How to fix\n\n")
	var failed, errored []result.Check
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			switch c.Status {
			case result.Failed:
				failed = append(failed, c)
			case result.Error:
				errored = append(errored, c)
			}
		}
	}
	if len(failed) == 0 {
		b.WriteString("Nothing to fix: no check failed.\n\n")
	}
	for _, c := range failed {
		writeCheckDetail(&b, c, "❌")
	}
	if len(errored) > 0 {
		b.WriteString("## Grader errors\n\nThese checks could not be evaluated because the grader or the cluster failed; they say nothing about the submission.\n\n")
		for _, c := range errored {
			writeCheckDetail(&b, c, "⚠️")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// writeCheckDetail writes one check's heading, message, hint and evidence blocks.
func writeCheckDetail(b *strings.Builder, c result.Check, emoji string) {
	fmt.Fprintf(b, "### %s `%s`", emoji, strings.ReplaceAll(strings.Join(splitLines(c.ID), " "), "`", "'"))
	if c.Title != "" {
		fmt.Fprintf(b, ": %s", mdInline(c.Title))
	}
	fmt.Fprintf(b, " (%d/%d)\n\n", c.Points, c.MaxPoints)
	if c.Message != "" {
		b.WriteString(mdParagraph(c.Message) + "\n\n")
	}
	if c.Hint != "" {
		b.WriteString("**Hint:** " + mdParagraph(c.Hint) + "\n\n")
	}
	for i, ev := range c.Evidence {
		ev = cleanText(ev)
		summary := truncateRunes(firstLine(ev), 100)
		if strings.TrimSpace(summary) == "" {
			summary = "(empty)"
		}
		fmt.Fprintf(b, "<details><summary>Evidence %d: %s</summary>\n\n", i+1, htmlEscape(summary))
		body := strings.TrimRight(elide(ev, maxEvidenceMarkdown), "\n")
		fence := codeFence(body)
		fmt.Fprintf(b, "%stext\n%s\n%s\n\n</details>\n\n", fence, body, fence)
	}
}

func exerciseLabel(e result.Exercise) string {
	if e.Title == "" {
		return e.ID
	}
	return e.ID + " — " + e.Title
}

func pointsCell(c result.Check) string {
	if c.Status == result.Skipped {
		return fmt.Sprintf("–/%d", c.MaxPoints)
	}
	return fmt.Sprintf("%d/%d", c.Points, c.MaxPoints)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// mdEscaper backslash-escapes the ASCII punctuation that could start Markdown or HTML inline syntax, so any text
// renders literally (CommonMark allows a backslash before any ASCII punctuation).
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`&`, `\&`, `|`, `\|`, `~`, `\~`, `#`, `\#`, `!`, `\!`,
)

// mdInline escapes text for a single Markdown line: line breaks become spaces.
func mdInline(s string) string {
	return mdEscaper.Replace(strings.Join(splitLines(s), " "))
}

// mdCell escapes text for a table cell: line breaks become <br>, `|` is escaped with the rest.
func mdCell(s string) string {
	lines := splitLines(s)
	for i, l := range lines {
		lines[i] = mdEscaper.Replace(l)
	}
	return strings.Join(lines, "<br>")
}

// mdParagraph escapes text that starts a paragraph, keeping its line breaks as <br>: like mdCell, and a leading list,
// heading or thematic-break marker is escaped too.
func mdParagraph(s string) string {
	out := mdCell(s)
	if out != "" && strings.ContainsRune("-+=", rune(out[0])) {
		return `\` + out
	}
	digits := 0
	for digits < len(out) && out[digits] >= '0' && out[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits < len(out) && (out[digits] == '.' || out[digits] == ')') {
		return out[:digits] + `\` + out[digits:]
	}
	return out
}

// codeCell is text for inside a code span in a table: backticks cannot be escaped there, so they are replaced, and
// `|` is escaped (GFM splits table cells before it parses code spans).
func codeCell(s string) string {
	s = strings.Join(splitLines(s), " ")
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(s)
}

// htmlEscape escapes text for HTML (the <summary> line).
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "|", "&#124;").Replace(s)
}

// codeFence returns a backtick fence longer than any backtick run in body (at least three).
func codeFence(body string) string {
	longest, run := 0, 0
	for _, r := range body {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// splitLines splits s on \r\n, \n and \r, dropping trailing line breaks.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
