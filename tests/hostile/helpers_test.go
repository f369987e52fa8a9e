package hostile_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// reference is the reference solution, the base every hostile submission is made from.
const reference = "../../reference"

// manifests are the three files of a submission.
var manifests = []string{"basic-sidecar.yaml", "advanced-sidecar.yaml", "persistent-sidecar.yaml"}

// submission makes a submission in a temporary directory: the reference's three manifests, with files replaced by
// replace (file name → content).
func submission(t *testing.T, replace map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, m := range manifests {
		b, err := os.ReadFile(filepath.Join(reference, m))
		require.NoError(t, err)
		if r, ok := replace[m]; ok {
			b = []byte(r)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, m), b, 0o644))
	}
	return dir
}

// readReference returns one of the reference's manifests.
func readReference(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(reference, name))
	require.NoError(t, err)
	return string(b)
}

// edit replaces old by new in s, once; old must occur.
func edit(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Contains(t, s, old)
	return strings.Replace(s, old, new, 1)
}

// floodingBasic is the reference's basic-sidecar.yaml with log-sidecar's command replaced by `yes`, which writes
// "y" lines to stdout as fast as it can, forever; the pod is otherwise the lab's (its readiness probe still passes).
func floodingBasic(t *testing.T) string {
	t.Helper()
	s := readReference(t, "basic-sidecar.yaml")
	start := strings.Index(s, "    command:\n    - sh\n    - -c\n")
	end := strings.Index(s, "    volumeMounts:\n    - name: shared-logs\n      mountPath: /shared-logs")
	require.True(t, start > 0 && end > start, "the reference's log-sidecar command block")
	return s[:start] + "    command: [\"yes\"]  # floods stdout endlessly\n" + s[end:]
}

// inKubeSystem is a reference manifest whose every object says metadata.namespace: kube-system.
func inKubeSystem(t *testing.T, name string) string {
	t.Helper()
	s := readReference(t, name)
	n := strings.Count(s, "\nmetadata:\n")
	require.Positive(t, n)
	return strings.ReplaceAll(s, "\nmetadata:\n", "\nmetadata:\n  namespace: kube-system\n")
}

// allocated runs f and returns the bytes the Go heap allocated meanwhile (runtime.MemStats.TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const mib = 1 << 20
