// Command verifyclass checks a class graded by `grader --submissions` (make bench-class) verdict by verdict: every
// submission named reference-* must have every check passed, every one named fixture-<name> exactly the verdicts of
// fixtures/<name>/expected.yaml, and none may have errored. It prints one line per mismatch and a tally, and exits 1
// when anything differs.
//
//	go run ./tests/internal/expect/verifyclass -fixtures fixtures OUT
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sidecar-lab/grader/grader/result"
	"github.com/sidecar-lab/grader/tests/internal/expect"
)

func main() {
	fixturesDir := flag.String("fixtures", "fixtures", "the fixtures directory (one sub-directory with expected.yaml each)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: verifyclass [-fixtures DIR] OUT")
		os.Exit(2)
	}
	out := flag.Arg(0)
	fixtures, err := expect.Load(*fixturesDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "verifyclass: %v\n", err)
		os.Exit(2)
	}
	want := map[string]expect.Expected{}
	for _, f := range fixtures {
		want["fixture-"+f.Name] = f.Expected
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "verifyclass: %v\n", err)
		os.Exit(2)
	}
	exact, total := 0, 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		x, ok := want[e.Name()]
		if !ok && !strings.HasPrefix(e.Name(), "reference-") {
			continue // not a submission of the benchmark's class
		}
		total++
		problems := verify(filepath.Join(out, e.Name(), "results.json"), x)
		for _, p := range problems {
			fmt.Printf("verifyclass: %s: %s\n", e.Name(), p)
		}
		if len(problems) == 0 {
			exact++
		}
	}
	fmt.Printf("verifyclass: %d of %d submissions graded with exactly their expected verdicts\n", exact, total)
	if total == 0 || exact != total {
		os.Exit(1)
	}
}

// verify compares one submission's results.json with x (the zero Expected: every check passes).
func verify(path string, x expect.Expected) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var s result.Submission
	if err := json.Unmarshal(b, &s); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	if s.Status == result.StatusError {
		msg := "the grading errored"
		if s.Error != nil {
			msg += ": " + *s.Error
		}
		return []string{msg}
	}
	return x.Mismatches(&s)
}
