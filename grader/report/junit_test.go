package report

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

// Independent parse-back types: what any JUnit consumer reads, not go-junit-report's own structs.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name       string  `xml:"name,attr"`
	Tests      int     `xml:"tests,attr"`
	Failures   int     `xml:"failures,attr"`
	Errors     int     `xml:"errors,attr"`
	Skipped    int     `xml:"skipped,attr"`
	Time       string  `xml:"time,attr"`
	Timestamp  string  `xml:"timestamp,attr"`
	Properties []xProp `xml:"properties>property"`
	Cases      []xCase `xml:"testcase"`
	SystemOut  string  `xml:"system-out"`
}

type xProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xCase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr"`
	Status    string   `xml:"status,attr"`
	Failure   *xResult `xml:"failure"`
	Error     *xResult `xml:"error"`
	Skipped   *xResult `xml:"skipped"`
	SystemOut string   `xml:"system-out"`
}

type xResult struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

func parseJUnit(t *testing.T, s *result.Submission) xSuites {
	t.Helper()
	b, err := JUnitXML(s)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`))
	var got xSuites
	require.NoError(t, xml.Unmarshal(b, &got), "junit.xml parses back:\n%s", b)
	return got
}

func TestJUnitStructure(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			s := f.sub()
			got := parseJUnit(t, s)
			assert.Equal(t, JUnitSuitesName, got.Name)
			require.Len(t, got.Suites, len(s.Exercises), "one testsuite per exercise")

			var total counts
			totalCases := 0
			for i, e := range s.Exercises {
				suite := got.Suites[i]
				n := countChecks(e.Checks)
				total.add(n)
				totalCases += len(e.Checks)

				assert.Equal(t, e.ID, suite.Name)
				assert.Equal(t, len(e.Checks), suite.Tests)
				assert.Equal(t, n.failed, suite.Failures)
				assert.Equal(t, n.errored, suite.Errors)
				assert.Equal(t, n.skipped, suite.Skipped)
				assert.Equal(t, strconv.FormatFloat(e.DurationS, 'f', 3, 64), suite.Time)
				assert.Equal(t, "2026-03-14T09:26:53Z", suite.Timestamp)
				props := map[string]string{}
				for _, p := range suite.Properties {
					props[p.Name] = p.Value
				}
				assert.Equal(t, map[string]string{
					"title":          e.Title,
					"score":          strconv.Itoa(e.Score),
					"max_score":      strconv.Itoa(e.MaxScore),
					"rubric":         s.Rubric,
					"submission":     s.Submission,
					"grader_version": s.GraderVersion,
				}, props)
				assert.Contains(t, suite.SystemOut, e.Title, "the title is readable where viewers show output")

				require.Len(t, suite.Cases, len(e.Checks), "one testcase per check")
				for j, c := range e.Checks {
					tc := suite.Cases[j]
					assert.Equal(t, c.ID, tc.Name)
					assert.Equal(t, e.ID, tc.Classname)
					assert.Equal(t, "0.000", tc.Time)
					assert.Equal(t, string(c.Status), tc.Status)
					assert.Equal(t, c.Status == result.Failed, tc.Failure != nil, "%s: <failure> iff failed", c.ID)
					assert.Equal(t, c.Status == result.Error, tc.Error != nil, "%s: <error> iff error", c.ID)
					assert.Equal(t, c.Status == result.Skipped, tc.Skipped != nil, "%s: <skipped> iff skipped", c.ID)
					switch c.Status {
					case result.Failed:
						assertResult(t, c, tc.Failure)
					case result.Error:
						assertResult(t, c, tc.Error)
					case result.Skipped:
						assert.Equal(t, c.Message, tc.Skipped.Message, "the reason")
					case result.Passed:
						assert.Contains(t, tc.SystemOut, c.Message)
					}
				}
			}
			assert.Equal(t, totalCases, got.Tests)
			assert.Equal(t, total.failed, got.Failures)
			assert.Equal(t, total.errored, got.Errors)
			assert.Equal(t, total.skipped, got.Skipped)
		})
	}
}

// assertResult: message attribute = the check's message (control characters aside); body = message, hint, evidence.
func assertResult(t *testing.T, c result.Check, r *xResult) {
	t.Helper()
	assert.Equal(t, xmlText(c.Message), r.Message)
	assert.Contains(t, r.Body, xmlText(c.Message))
	if c.Hint != "" {
		assert.Contains(t, r.Body, "Hint: "+c.Hint)
	}
	for _, ev := range c.Evidence {
		// Long evidence is elided in the middle; its head and tail both survive.
		want := xmlText(strings.TrimRight(elide(cleanText(ev), maxEvidenceText), "\n"))
		assert.Contains(t, r.Body, want)
	}
}

// normalizeNewlines mirrors XML's end-of-line handling: a parser reads CR LF and lone CR as LF.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func TestJUnitEscapesNastyText(t *testing.T) {
	got := parseJUnit(t, withFailures())
	tc := got.Suites[0].Cases[2]
	require.Equal(t, "ex1.processed", tc.Name)
	require.NotNil(t, tc.Failure)
	assert.Equal(t, "expected 5 [PROCESSED] lines within 10s; saw 3 | first missing: \"GET /?probe=p4\"\nlast seen <none>",
		tc.Failure.Message, "quotes, <, | and the newline survive the attribute")
	body := tc.Failure.Body
	assert.Contains(t, body, `"GET /?probe=p1%20x HTTP/1.1" 200 | <b>`)
	assert.Contains(t, body, "]]> ```fence``` & done", "]]> inside CDATA is split, not fatal")
	assert.Contains(t, body, "\nred ]]>", "ANSI colour sequences are removed")
	assert.NotContains(t, body, "\x1b")
	assert.Contains(t, body, "50% done")
	assert.Contains(t, body, "bytes elided", "long evidence is elided")
	assert.Contains(t, body, "Hint: read the log with `tail -F`")
}

func TestJUnitEmptySubmission(t *testing.T) {
	s := &result.Submission{Status: result.StatusGraded}
	got := parseJUnit(t, s)
	assert.Empty(t, got.Suites)
	assert.Zero(t, got.Tests)
}
