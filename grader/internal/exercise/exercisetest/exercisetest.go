// Package exercisetest holds the helpers the exercises' static-check tests share: the lab's own manifests as a
// starting point, in-place edits of them, and grading one manifest with an exercise's static checks.
package exercisetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// Lab reads the lab's own manifest for d (from grader/internal/exercises/testdata/lab, relative to an exercise
// package's directory).
func Lab(t *testing.T, d *exercise.Definition) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "lab", d.File+".yaml"))
	require.NoError(t, err)
	return string(b)
}

// Edit replaces, in order, each old with its new (pairs); every old must occur.
func Edit(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	require.Zero(t, len(pairs)%2)
	for i := 0; i < len(pairs); i += 2 {
		require.Contains(t, s, pairs[i], "edit %d", i/2)
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// EditAll replaces every old with new; old must occur.
func EditAll(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.ReplaceAll(s, old, new)
}

// Load writes manifest as d's file (with extension ext, ".yaml" or ".yml") and loads it.
func Load(t *testing.T, d *exercise.Definition, manifest, ext string) *submission.File {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, d.File+ext), []byte(manifest), 0o644))
	return submission.Load(dir, d.File, submission.DefaultLimits)
}

// Grade loads manifest and runs every static check of d on it; the file must load.
func Grade(t *testing.T, d *exercise.Definition, manifest, ext string) map[string]check.Verdict {
	t.Helper()
	f := Load(t, d, manifest, ext)
	require.NoError(t, f.Err)
	out := map[string]check.Verdict{}
	for id, fn := range d.Static {
		out[id] = fn(f)
	}
	return out
}

// AssertStatic checks every static check of d in got: a check named in failed must fail, with the text
// failed[id] in its message or hint, an "expected ..." message and a hint; every other static check must pass.
func AssertStatic(t *testing.T, d *exercise.Definition, got map[string]check.Verdict, failed map[string]string) {
	t.Helper()
	for _, s := range d.Checks {
		if s.Kind != result.Static {
			continue
		}
		v := got[s.ID]
		want, fails := failed[s.ID]
		if !fails {
			assert.Equal(t, result.Passed, v.Status, "%s: %s", s.ID, v.Message)
			continue
		}
		require.Equal(t, result.Failed, v.Status, "%s: %s", s.ID, v.Message)
		assert.Contains(t, strings.ToLower(v.Message+" | "+v.Hint), strings.ToLower(want), s.ID)
		assert.True(t, strings.HasPrefix(v.Message, "expected "), s.ID)
		assert.NotEmpty(t, v.Hint, "%s has no hint", s.ID)
	}
}
