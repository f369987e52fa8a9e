package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

func TestMarkdownGolden(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			golden(t, "summary-"+f.name+".md", Markdown(f.sub()))
		})
	}
}

// unescapedPipe matches a | not preceded by a backslash.
var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

func TestMarkdownTablesStayTables(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			md := Markdown(f.sub())
			inFence := false
			columns := 0
			for _, line := range strings.Split(md, "\n") {
				if strings.HasPrefix(line, "```") {
					inFence = !inFence
				}
				if inFence || !strings.HasPrefix(line, "|") {
					columns = 0
					continue
				}
				n := len(unescapedPipe.FindAllString(line, -1))
				if columns == 0 {
					columns = n // header row
				}
				assert.Equal(t, columns, n, "every row of a table has the header's cells: %q", line)
			}
			assert.False(t, inFence, "every code fence is closed")
			assert.Equal(t, strings.Count(md, "<details>"), strings.Count(md, "</details>"))
		})
	}
}

func TestMarkdownContent(t *testing.T) {
	md := Markdown(withFailures())
	assert.True(t, strings.HasPrefix(md, "# Grading report: students/alice\n"))
	assert.Contains(t, md, "**Score: 3/6** · Status: graded")
	assert.Contains(t, md, "Rubric: default")
	assert.Contains(t, md, "| `ex1.processed` | ❌ failed | 0/3 | expected 5 \\[PROCESSED\\] lines within 10s; saw 3 \\| first missing: \"GET /?probe=p4\"<br>last seen \\<none\\> |",
		"| escaped and the newline a <br> inside the cell")
	assert.Contains(t, md, "| `ex1.verbatim` | ⏭️ skipped | –/1 |")
	assert.Contains(t, md, "## How to fix")
	assert.Contains(t, md, "### ❌ `ex1.processed`: sidecar processes every access-log line (0/3)")
	assert.Contains(t, md, "**Hint:** read the log with \\`tail -F\\` and print each line with its timestamp: 100% of lines, in order")
	assert.Contains(t, md, "<details><summary>Evidence 1: log-sidecar (last 3 lines): …</summary>")
	assert.Contains(t, md, "````text\n", "a fence longer than the evidence's ``` run")
	assert.Contains(t, md, "\"GET /?probe=p1%20x HTTP/1.1\" 200 | <b>", "evidence is verbatim inside the fence")
	assert.Contains(t, md, "bytes elided", "long evidence is truncated")
	assert.Less(t, len(md), 2*maxEvidenceMarkdown+4096, "the summary stays small")
	assert.NotContains(t, md, "Grader errors")

	// The passed checks are not in How to fix; the skipped one neither.
	_, howTo, ok := strings.Cut(md, "## How to fix")
	require.True(t, ok)
	assert.NotContains(t, howTo, "ex1.ready")
	assert.NotContains(t, howTo, "ex1.verbatim")
	assert.Contains(t, howTo, "adv.probes")
}

func TestMarkdownStatus(t *testing.T) {
	full := Markdown(fullMarks())
	assert.Contains(t, full, "**Score: 9/9** · Status: graded")
	assert.Contains(t, full, "Nothing to fix: no check failed.")
	assert.NotContains(t, full, "<details>")

	errored := Markdown(withError())
	assert.Contains(t, errored, "**Status: ⚠️ error**")
	assert.Contains(t, errored, "> Error: ex3.ready: apply: the server could not find the requested resource, kind=PersistentVolumeClaim")
	assert.Contains(t, errored, "## Grader errors")
	assert.Contains(t, errored, "### ⚠️ `ex3.ready`")
	assert.Contains(t, errored, "### ❌ `ex3.containers`", "a failed check is still listed under How to fix")
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct {
		name, in, cell, paragraph string
	}{
		{"plain", "expected 5; saw 3", "expected 5; saw 3", "expected 5; saw 3"},
		{"pipe", "a | b", `a \| b`, `a \| b`},
		{"newlines", "a\nb\r\nc\rd\n", "a<br>b<br>c<br>d", "a<br>b<br>c<br>d"},
		{"html", "<script>alert(1)</script> & co", `\<script\>alert(1)\</script\> \& co`, `\<script\>alert(1)\</script\> \& co`},
		{"emphasis and code", "*a* _b_ `c` ~d~", "\\*a\\* \\_b\\_ \\`c\\` \\~d\\~", "\\*a\\* \\_b\\_ \\`c\\` \\~d\\~"},
		{"links and images", "![x](y) [z]", `\!\[x\](y) \[z\]`, `\!\[x\](y) \[z\]`},
		{"backslash", `\x22`, `\\x22`, `\\x22`},
		{"leading list marker", "- not a list", "- not a list", `\- not a list`},
		{"leading ordered marker", "1. not a list", "1. not a list", `1\. not a list`},
		{"leading heading", "# not a heading", `\# not a heading`, `\# not a heading`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.cell, mdCell(tt.in))
			assert.Equal(t, tt.paragraph, mdParagraph(tt.in))
		})
	}
}

func TestCodeFence(t *testing.T) {
	assert.Equal(t, "```", codeFence("no backticks"))
	assert.Equal(t, "```", codeFence("`one` ``two``"))
	assert.Equal(t, "````", codeFence("```three```"))
	assert.Equal(t, "`````", codeFence("a ```` b"))
}

func TestElide(t *testing.T) {
	assert.Equal(t, "short", elide("short", 10))
	long := strings.Repeat("a", 50) + strings.Repeat("é", 50) + strings.Repeat("z", 50)
	got := elide(long, 60)
	assert.True(t, strings.HasPrefix(got, strings.Repeat("a", 20)))
	assert.True(t, strings.HasSuffix(got, strings.Repeat("z", 40)))
	assert.Contains(t, got, "bytes elided")
	assert.True(t, isValidUTF8(elide(strings.Repeat("é", 100), 31)), "cuts on rune boundaries")
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

func TestMarkdownEmptySubmission(t *testing.T) {
	md := Markdown(&result.Submission{})
	assert.True(t, strings.HasPrefix(md, "# Grading report: submission\n"))
	assert.Contains(t, md, "Nothing to fix")
}

func TestCleanText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "a b\tc\n", "a b\tc\n"},
		{"ansi colours removed", "\x1b[31mred\x1b[0m \x1b[1;32mbold\x1b[m", "red bold"},
		{"CR LF and CR", "a\r\nb\rc", "a\nb\nc"},
		{"other controls", "nul\x00 bel\x07 del\x7f c1\u0085", "nul\uFFFD bel\uFFFD del\uFFFD c1\uFFFD"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"unicode kept", "é ✔ 日本", "é ✔ 日本"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cleanText(tt.in))
		})
	}
}

func TestElideOnLines(t *testing.T) {
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("line %03d of the log", i))
	}
	got := elide(strings.Join(lines, "\n"), 600)
	assert.True(t, strings.HasPrefix(got, "line 000 of the log\n"))
	assert.True(t, strings.HasSuffix(got, "\nline 099 of the log"))
	for _, l := range strings.Split(got, "\n") {
		assert.Regexp(t, `^(line \d{3} of the log|… \[\d+ bytes elided\] …)$`, l, "cuts fall between lines")
	}
}
