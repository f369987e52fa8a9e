package report

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sidecar-lab/grader/grader/result"
)

// Evidence size limits, in bytes, per evidence item. Evidence is the containers' last log lines and the pod's events:
// useful, but unbounded in principle. Plain-text reports (JUnit, Gradescope) keep more than the Markdown summary,
// which a person scrolls through and which GitHub caps at 1 MiB per step.
const (
	maxEvidenceText     = 16 << 10
	maxEvidenceMarkdown = 4 << 10
)

// elide shortens s to about max bytes by cutting out its middle and putting a marker line in its place: the head
// usually names what the evidence is, and the tail holds the latest log lines. Cuts fall on line boundaries when a
// line break is near, and always on rune boundaries.
func elide(s string, max int) string {
	if len(s) <= max {
		return s
	}
	headLen := max / 3
	tailStart := len(s) - (max - headLen)
	if i := strings.LastIndexByte(s[:headLen], '\n'); i >= headLen/2 {
		headLen = i + 1
	}
	for headLen > 0 && !utf8.RuneStart(s[headLen]) {
		headLen--
	}
	if i := strings.IndexByte(s[tailStart:], '\n'); i >= 0 && i < (len(s)-tailStart)/2 {
		tailStart += i + 1
	}
	for tailStart < len(s) && !utf8.RuneStart(s[tailStart]) {
		tailStart++
	}
	head := s[:headLen]
	if head != "" && !strings.HasSuffix(head, "\n") {
		head += "\n"
	}
	return head + fmt.Sprintf("… [%d bytes elided] …\n", tailStart-headLen) + s[tailStart:]
}

// ansiEscape matches ANSI CSI sequences (colours, cursor moves) as container logs carry them.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// cleanText makes log text fit for a human-facing report: ANSI escape sequences are removed, CR LF and lone CR become
// LF, and any other control character (tab and LF aside) becomes U+FFFD, as does invalid UTF-8.
func cleanText(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || (r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0)) {
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// truncateRunes shortens s to at most n runes, ending with "…" when it cut something.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// firstLine returns s up to its first line break, with " …" appended when more lines follow.
func firstLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// checkBody is the plain-text explanation of a check: its message, hint and evidence (each item elided to max bytes).
// JUnit failure bodies and Gradescope test outputs use it.
func checkBody(c result.Check, max int) string {
	var b strings.Builder
	b.WriteString(c.Message)
	if c.Hint != "" {
		b.WriteString("\n\nHint: ")
		b.WriteString(c.Hint)
	}
	for i, ev := range c.Evidence {
		fmt.Fprintf(&b, "\n\n--- evidence %d of %d ---\n", i+1, len(c.Evidence))
		b.WriteString(strings.TrimRight(elide(cleanText(ev), max), "\n"))
	}
	return strings.TrimLeft(b.String(), "\n")
}

// counts tallies an exercise's checks by status.
type counts struct{ passed, failed, skipped, errored int }

func countChecks(checks []result.Check) counts {
	var n counts
	for _, c := range checks {
		switch c.Status {
		case result.Passed:
			n.passed++
		case result.Failed:
			n.failed++
		case result.Skipped:
			n.skipped++
		case result.Error:
			n.errored++
		}
	}
	return n
}

func (n *counts) add(m counts) {
	n.passed += m.passed
	n.failed += m.failed
	n.skipped += m.skipped
	n.errored += m.errored
}

// errorText is the submission's error message, or "" when it has none.
func errorText(s *result.Submission) string {
	if s.Error == nil {
		return ""
	}
	return *s.Error
}
