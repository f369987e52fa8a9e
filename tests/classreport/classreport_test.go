// Package classreport_test grades a whole class with the CLI (`grader --submissions DIR --static-only`), then renders
// its class.html in a real browser (headless Chromium): the rendered DOM must hold one row per student with the
// right scores, show a hostile student name as text (no element made from it), and a screenshot is kept in
// out/classreport/ for a person to look at. No cluster is needed.
//
// Without Chromium the browser test is skipped, except on CI (CI=true), where it fails with the command to install it.
package classreport_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/sidecar-lab/grader/grader/report"
)

const repo = "../.."

// hostileName is a student directory name that runs script in a page that does not escape it.
const hostileName = `<img src=x onerror=alert(1)>`

// installChromium is what to run (as root, or with sudo) on a Debian machine or CI runner that lacks a browser.
const installChromium = "apt-get update && apt-get install -y chromium"

var (
	buildOnce sync.Once
	graderBin string
	buildErr  error
)

// grader builds the CLI once per test binary.
func grader(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "classreport-grader-")
		if err != nil {
			buildErr = err
			return
		}
		graderBin = filepath.Join(dir, "grader")
		out, err := exec.Command("go", "build", "-o", graderBin, "github.com/sidecar-lab/grader/grader/cmd/grader").CombinedOutput()
		if err != nil {
			buildErr = err
			graderBin = string(out)
		}
	})
	require.NoError(t, buildErr, "go build the grader: %s", graderBin)
	return graderBin
}

type cli struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) cli {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, grader(t), args...)
	cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return cli{code: code, stdout: so.String(), stderr: se.String()}
}

// copyManifests copies the YAML manifests of src (not expected.yaml) into dst.
func copyManifests(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || n == "expected.yaml" || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, n), b, 0o644))
	}
}

// makeClass is a class directory: reference/, every fixture, and a copy of reference/ under a hostile name. It
// returns the directory and the student names.
func makeClass(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	names := []string{"reference", hostileName}
	copyManifests(t, filepath.Join(repo, "reference"), filepath.Join(dir, "reference"))
	copyManifests(t, filepath.Join(repo, "reference"), filepath.Join(dir, hostileName))
	ents, err := os.ReadDir(filepath.Join(repo, "fixtures"))
	require.NoError(t, err)
	for _, e := range ents {
		if e.IsDir() {
			copyManifests(t, filepath.Join(repo, "fixtures", e.Name()), filepath.Join(dir, e.Name()))
			names = append(names, e.Name())
		}
	}
	return dir, names
}

var progressLine = regexp.MustCompile(`(?m)^\[(\d+)/(\d+)\] .+ (\d+)/(\d+) graded in \S+$`)

func TestBatchCLI(t *testing.T) {
	class, names := makeClass(t)
	out := filepath.Join(t.TempDir(), "out")
	t0 := time.Now()
	r := run(t, "--static-only", "--submissions", class, "--out", out, "--parallel", "2")
	t.Logf("static-only batch of %d submissions: %s\n%s", len(names), time.Since(t0), r.stdout)
	require.Equal(t, 0, r.code, "a graded batch exits 0 whatever the scores\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Len(t, progressLine.FindAllString(r.stdout, -1), len(names), "one progress line per submission")
	assert.Contains(t, r.stdout, "Parallel: 2 at a time (--parallel)")
	for _, f := range report.ClassFiles {
		assert.FileExists(t, filepath.Join(out, f))
	}
	for _, n := range names {
		assert.FileExists(t, filepath.Join(out, n, report.ResultsFile), n)
	}
	b, err := os.ReadFile(filepath.Join(out, report.ClassCSVFile))
	require.NoError(t, err)
	assert.Equal(t, len(names)+1, strings.Count(string(b), "\n"), "class.csv: a header and a row per student")
	assert.Contains(t, string(b), "\nreference,graded,13,13,5,4,4\n")

	// The default --parallel says what it chose and why.
	r = run(t, "--static-only", "--submissions", class, "--out", filepath.Join(t.TempDir(), "out2"))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `Parallel: [1-4] at a time \(default: static-only grading needs no cluster`, r.stdout)
}

func TestBatchCLIUsage(t *testing.T) {
	class, _ := makeClass(t)
	out := filepath.Join(t.TempDir(), "out")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"both --submission and --submissions": {[]string{"--submission", filepath.Join(class, "reference"), "--submissions", class}, "mutually exclusive"},
		"--parallel with one submission":      {[]string{"--submission", filepath.Join(class, "reference"), "--parallel", "2"}, "--parallel applies to --submissions"},
		"--pass-score with a class":           {[]string{"--submissions", class, "--pass-score", "3"}, "--pass-score applies to --submission"},
		"a negative --parallel":               {[]string{"--submissions", class, "--parallel", "-1"}, "want 1 or more"},
		"a class that is not a directory":     {[]string{"--submissions", filepath.Join(class, "none")}, "is not a directory"},
		"reports inside the class":            {[]string{"--submissions", class, "--out", filepath.Join(class, "reports")}, "inside the submissions directory"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"--static-only", "--out", out}, tc.args...)
			if name == "reports inside the class" {
				args = append([]string{"--static-only"}, tc.args...)
			}
			r := run(t, args...)
			assert.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.NoDirExists(t, out, "a usage error writes nothing")
		})
	}
	r := run(t, "--help")
	assert.Contains(t, r.stderr, "--submissions DIR [--parallel N]")
	assert.Contains(t, r.stderr, "3 if any submission's grading errored")
}

// chromium finds a headless-capable Chromium or Chrome ($CHROMIUM first). Without one it skips, or on CI fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no Chromium on this CI machine, and the class report's browser test must run on CI: install it (as root, or with sudo) with\n  %s\n(or set CHROMIUM to a Chromium or Chrome binary)", installChromium)
	}
	t.Skipf("Chromium is not installed (as root: %s); skipping the browser test (CI=true makes this a failure)", installChromium)
	return ""
}

// headless runs the browser on page with extra flags and returns its stdout.
func headless(t *testing.T, browser, page string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=1200,900"}, extra...)
	cmd := exec.CommandContext(ctx, browser, append(args, "file://"+page)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	require.NoError(t, cmd.Run(), "%s %s\nstderr: %s", browser, strings.Join(args, " "), se.String())
	return so.String()
}

func TestClassHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	class, names := makeClass(t)
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, "--static-only", "--submissions", class, "--out", out)
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	page, err := filepath.Abs(filepath.Join(out, report.ClassHTMLFile))
	require.NoError(t, err)

	dom, err := html.Parse(strings.NewReader(headless(t, browser, page, "--dump-dom")))
	require.NoError(t, err)
	students := find(dom, func(n *html.Node) bool { return n.DataAtom == atom.Section && attr(n, "id") == "students" })
	require.Len(t, students, 1, "the students section")
	rows := find(students[0], func(n *html.Node) bool { return n.DataAtom == atom.Tr && n.Parent.DataAtom == atom.Tbody })
	require.Len(t, rows, len(names), "one table row per student")
	byName := map[string][]string{}
	for _, row := range rows {
		var cells []string
		for _, td := range find(row, func(n *html.Node) bool { return n.DataAtom == atom.Td }) {
			cells = append(cells, strings.TrimSpace(text(td)))
		}
		require.Len(t, cells, 6, "student, ex1, ex2, ex3, total, failed checks")
		byName[cells[0]] = cells
	}
	for _, n := range names {
		assert.Contains(t, byName, n, "a row for %s, its name shown as text", n)
	}
	assert.Equal(t, []string{"5/5", "4/4", "4/4", "13/13"}, byName["reference"][1:5], "reference's score cells")
	assert.Equal(t, "13/13", byName[hostileName][4])
	assert.Equal(t, "0/18", byName["missing-persistent"][3], "missing-persistent's ex3 cell")
	assert.Equal(t, "9/27", byName["missing-persistent"][4])
	assert.Empty(t, find(dom, func(n *html.Node) bool {
		return n.DataAtom == atom.Img || n.DataAtom == atom.Script || n.DataAtom == atom.Svg || attr(n, "onerror") != ""
	}), "no element was made from a student's name")
	assert.Len(t, find(dom, func(n *html.Node) bool { return n.DataAtom == atom.Section }), 3, "students, checks, failures (no errors section)")

	// The screenshot, kept for a person to look at (out/ is gitignored).
	shot, err := filepath.Abs(filepath.Join(repo, "out", "classreport", "class.png"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(shot), 0o755))
	_ = os.Remove(shot)
	headless(t, browser, page, "--screenshot="+shot)
	f, err := os.Open(shot)
	require.NoError(t, err, "the screenshot was written")
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1200, img.Bounds().Dx())
	colours := map[uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 7 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|b>>8] = true
		}
	}
	assert.Greater(t, len(colours), 20, "the screenshot shows a rendered page, not a blank one")
	t.Logf("screenshot: %s", shot)
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
