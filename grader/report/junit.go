package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jstemmer/go-junit-report/v2/junit"

	"github.com/sidecar-lab/grader/grader/result"
)

// JUnitSuitesName is the name attribute of junit.xml's <testsuites> element.
const JUnitSuitesName = "sidecar-lab-grader"

// JUnit builds the JUnit report of s with go-junit-report's junit package: one <testsuite> per exercise (name = the
// exercise ID; properties title, score, max_score, rubric, submission, grader_version; a system-out line naming the
// exercise and its score) and one <testcase> per check (name = the check ID, classname = the exercise ID, status = the
// check's status, time 0 since checks are not timed one by one). A failed check carries a <failure> whose message is
// the check's message and whose body holds message, hint and evidence; an error check an <error> with the same; a
// skipped check a <skipped> with the reason. Totals on every suite and on <testsuites> are counted by the junit
// package as cases are added.
func JUnit(s *result.Submission) junit.Testsuites {
	suites := junit.Testsuites{
		Name: JUnitSuitesName,
		Time: seconds(s.DurationS),
	}
	for i, e := range s.Exercises {
		suite := junit.Testsuite{
			Name: xmlText(e.ID),
			ID:   i,
			Time: seconds(e.DurationS),
		}
		if !s.StartedAt.IsZero() {
			suite.Timestamp = s.StartedAt.UTC().Format(time.RFC3339)
		}
		suite.AddProperty("title", xmlText(e.Title))
		suite.AddProperty("score", strconv.Itoa(e.Score))
		suite.AddProperty("max_score", strconv.Itoa(e.MaxScore))
		suite.AddProperty("rubric", xmlText(s.Rubric))
		suite.AddProperty("submission", xmlText(s.Submission))
		suite.AddProperty("grader_version", xmlText(s.GraderVersion))
		suite.SystemOut = &junit.Output{Data: xmlText(fmt.Sprintf("%s — %s: %d/%d points", e.ID, e.Title, e.Score, e.MaxScore))}
		for _, c := range e.Checks {
			suite.AddTestcase(junitCase(e.ID, c))
		}
		suites.AddSuite(suite)
	}
	return suites
}

func junitCase(exerciseID string, c result.Check) junit.Testcase {
	tc := junit.Testcase{
		Name:      xmlText(c.ID),
		Classname: xmlText(exerciseID),
		Time:      seconds(0),
		Status:    string(c.Status),
	}
	title := c.Title
	if title == "" {
		title = c.ID
	}
	points := fmt.Sprintf("%s (%s, %d/%d points)", title, c.Kind, c.Points, c.MaxPoints)
	switch c.Status {
	case result.Failed:
		tc.Failure = &junit.Result{
			Message: xmlText(c.Message),
			Type:    string(result.Failed),
			Data:    xmlText(points + "\n\n" + checkBody(c, maxEvidenceText)),
		}
	case result.Error:
		tc.Error = &junit.Result{
			Message: xmlText(c.Message),
			Type:    string(result.Error),
			Data:    xmlText(points + "\n\nThe grader or the cluster failed; this is not the student's failure.\n\n" + checkBody(c, maxEvidenceText)),
		}
	case result.Skipped:
		tc.Skipped = &junit.Result{
			Message: xmlText(c.Message),
			Data:    xmlText(points + "\n\nSkipped: the cluster cannot evaluate this check; its points leave the maximum.\n" + c.Message),
		}
	default:
		out := points
		if c.Message != "" {
			out += "\n" + c.Message
		}
		tc.SystemOut = &junit.Output{Data: xmlText(out)}
	}
	return tc
}

// JUnitXML renders junit.xml: the XML declaration followed by JUnit(s).
func JUnitXML(s *result.Submission) ([]byte, error) {
	suites := JUnit(s)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if err := suites.WriteXML(&buf); err != nil {
		return nil, fmt.Errorf("report: encode JUnit XML: %w", err)
	}
	return buf.Bytes(), nil
}

// seconds formats a duration in seconds the way JUnit and go-junit-report do ("12.345").
func seconds(s float64) string {
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// xmlText replaces what XML 1.0 cannot carry at all (NUL and the other C0 controls but tab, CR and LF, unpaired
// surrogates, U+FFFE/U+FFFF, invalid UTF-8) with U+FFFD. encoding/xml escapes attributes itself but writes CDATA
// sections raw, and container logs may hold ANSI escapes.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		default:
			return '\uFFFD'
		}
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
