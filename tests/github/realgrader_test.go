package github_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildGrader builds the real grader CLI into a temporary folder (most of it is in the build cache after the other
// packages' tests) and returns its path.
func buildGrader(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "grader")
	cmd := exec.Command(goBin, "build", "-o", bin, "./grader/cmd/grader")
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./grader/cmd/grader:\n%s", out)
	return bin
}

// TestRealGraderStaticOnly runs the adapters with the real grader in --static-only mode, which needs no cluster: the
// Gradescope script on the reference solution and on the lab as written (results.json must validate), and the
// grading action's run step through a wrapper adding --static-only (its outputs must agree with the reports, and the
// grader's own annotations must parse).
func TestRealGraderStaticOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the grader CLI")
	}
	grader := buildGrader(t)

	for _, sub := range []string{"reference", "manifests"} {
		t.Run("run_autograder "+sub, func(t *testing.T) {
			g := newGradescopeEnv(t, true)
			require.NoError(t, os.Remove(filepath.Join(g.root, "submission")))
			require.NoError(t, os.Symlink(repoFile(t, sub), filepath.Join(g.root, "submission")))
			r := g.run("GRADER_CMD="+grader, "GRADER_STATIC_ONLY=true")
			require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
			got := g.results()
			require.NotNil(t, got, r.Stdout+r.Stderr)
			assert.Empty(t, validateGradescope(got))
			var res struct {
				Score     float64        `json:"score"`
				ExtraData map[string]any `json:"extra_data"`
			}
			require.NoError(t, json.Unmarshal(got, &res))
			assert.Equal(t, "graded", res.ExtraData["status"], r.Stdout)
			assert.Equal(t, res.ExtraData["max_score"], res.Score, "every static check of %s passes", sub)
		})
	}

	t.Run("action run step", func(t *testing.T) {
		e := newActionEnv(t)
		wrapper := filepath.Join(t.TempDir(), "grader-static")
		require.NoError(t, os.WriteFile(wrapper, []byte("#!/usr/bin/env bash\nexec \""+grader+"\" --static-only \"$@\"\n"), 0o755))
		require.NoError(t, os.Remove(filepath.Join(e.workspace, "submission")))
		require.NoError(t, os.Symlink(repoFile(t, "manifests"), filepath.Join(e.workspace, "submission")))
		r, out := e.run("run", "GRADER_BIN="+wrapper)
		require.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
		require.Contains(t, []string{"pass", "fail"}, out["status"], r.Stdout+r.Stderr)
		assert.NotEmpty(t, out["score"])
		assert.NotEmpty(t, out["max-score"])

		decoded, err := base64.StdEncoding.DecodeString(out["result"])
		require.NoError(t, err)
		var cr classroomResult
		require.NoError(t, json.Unmarshal(decoded, &cr))
		notice, _ := reporterVerdict(cr)
		assert.JSONEq(t, `{"totalPoints":`+out["score"]+`,"maxPoints":`+out["max-score"]+`}`, notice)

		// The grader's annotations (GITHUB_ACTIONS=true) parse, one per failed check, titled with its ID; the lab as
		// written fails the advisory adv.probes.
		titles := map[string]bool{}
		for _, line := range strings.Split(r.Stdout, "\n") {
			if !strings.HasPrefix(line, "::error title=") {
				continue
			}
			a, err := parseAnnotation(line)
			require.NoError(t, err)
			assert.Regexp(t, `^(ex[123]|adv)\.[a-z-]+$`, a.Properties["title"])
			assert.NotEmpty(t, a.Data)
			titles[a.Properties["title"]] = true
		}
		assert.True(t, titles["adv.probes"], "annotations seen: %v", sortedKeys(titles))
		assert.FileExists(t, filepath.Join(out["report-dir"], "summary.md"))
	})
}
