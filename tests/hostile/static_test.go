// Package hostile_test grades hostile submissions: manifests that try to escape the grader's namespace, gain the
// node's privileges, exhaust its memory, or flood it. The static ones (no cluster) must be refused before anything
// is applied, with a message naming the object and the field, without a panic and with a small Go heap; the
// runtime ones (runtime_test.go, on the cluster) must be contained. They are generated here from reference/ and
// never committed as fixtures (fixtures/ holds the submissions tests/grading grades with expected verdicts).
package hostile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/result"
)

// privilegedHostRoot is the lab's pod made to own the node: privileged, the host's / mounted through hostPath.
const privilegedHostRoot = `apiVersion: v1
kind: Pod
metadata:
  name: web-with-sidecar
spec:
  containers:
  - name: web-app
    image: nginx:1.24-alpine
    securityContext:
      privileged: true
    volumeMounts:
    - name: host-root
      mountPath: /host
  - name: log-sidecar
    image: busybox:1.35
    command: ["chroot", "/host", "sh", "-c", "cat /etc/shadow; sleep 3600"]
    volumeMounts:
    - name: host-root
      mountPath: /host
  volumes:
  - name: host-root
    hostPath:
      path: /
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-content
data:
  index.html: hello
`

// clusterAdmin smuggles a Namespace and a ClusterRoleBinding of the default service account to cluster-admin in
// with the reference's objects.
const clusterAdmin = `
---
apiVersion: v1
kind: Namespace
metadata:
  name: student-owned
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: student-is-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: default
  namespace: default
`

// billionLaughs is the classic alias bomb: ten levels of ten aliases to the level below, 10^10 "lol"s expanded.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-content\ndata:\n  index.html: ok\n")
	b.WriteString(`l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 9; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), 10), ",")
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, refs)
	}
	b.WriteString("bomb: *l9\n")
	return b.String()
}

// bigScalarAliased is the alias bomb go-yaml's own guard lets through: one 500 kB string aliased 100,000 times
// (under 400,000 nodes, so "excessive aliasing" never triggers) is 50 GB once expanded, in a file under 1 MiB.
func bigScalarAliased() string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-content\ndata:\n  index.html: &big \"" +
		strings.Repeat("x", 500_000) + "\"\nbomb: [" + strings.TrimSuffix(strings.Repeat("*big,", 100_000), ",") + "]\n"
}

// deepNesting is a flow sequence nested 300,000 deep (a recursive parser's stack).
func deepNesting() string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-content\ndata:\n  index.html: ok\nx: " +
		strings.Repeat("[", 300_000) + strings.Repeat("]", 300_000) + "\n"
}

// write20MB writes a 20 MB manifest to path: the reference's, followed by a ConfigMap with 20 MB of data.
func write20MB(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString(readReference(t, "basic-sidecar.yaml") + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: padding\ndata:\n")
	require.NoError(t, err)
	line := "  k: " + strings.Repeat("0123456789", 100) + "\n" // keys repeat: the file is refused long before that matters
	for written := 0; written < 20*mib; written += len(line) {
		_, err = f.WriteString(line)
		require.NoError(t, err)
	}
	fi, err := f.Stat()
	require.NoError(t, err)
	require.GreaterOrEqual(t, fi.Size(), int64(20*mib))
}

// hostile is one hostile basic-sidecar.yaml and what its refusal must name.
type hostile struct {
	name     string
	manifest func(t *testing.T, dir string) // writes basic-sidecar.yaml into the submission dir
	names    []string                       // every one of these is in the refusal's message
}

func writeBasic(s string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "basic-sidecar.yaml"), []byte(s), 0o644))
	}
}

func hostiles(t *testing.T) []hostile {
	return []hostile{
		{name: "privileged pod with the host's / mounted", manifest: writeBasic(privilegedHostRoot), names: []string{
			"basic-sidecar.yaml is refused, so nothing of it is applied", "document 1 (Pod web-with-sidecar)",
			"spec.volumes[0] (host-root).hostPath mounts a directory of the node",
			"spec.containers[0] (web-app).securityContext.privileged is true",
		}},
		{name: "ClusterRoleBinding to cluster-admin and a Namespace smuggled in",
			manifest: writeBasic(readReference(t, "basic-sidecar.yaml") + clusterAdmin), names: []string{
				"basic-sidecar.yaml is refused, so nothing of it is applied",
				"document 3 (Namespace student-owned): kind Namespace (apiVersion v1) is not allowed",
				"document 4 (ClusterRoleBinding student-is-admin): kind ClusterRoleBinding (apiVersion rbac.authorization.k8s.io/v1) is not allowed",
			}},
		{name: "billion laughs", manifest: writeBasic(billionLaughs()),
			names: []string{"basic-sidecar.yaml: document 1 is refused", "an alias bomb"}},
		{name: "one big string aliased 100,000 times", manifest: writeBasic(bigScalarAliased()),
			names: []string{"basic-sidecar.yaml: document 1 is refused", "an alias bomb"}},
		{name: "nested 300,000 deep", manifest: writeBasic(deepNesting()),
			names: []string{"basic-sidecar.yaml: document 1 is not valid YAML", "exceeded max depth"}},
		{name: "a 20 MB manifest", manifest: func(t *testing.T, dir string) { write20MB(t, filepath.Join(dir, "basic-sidecar.yaml")) },
			names: []string{"basic-sidecar.yaml is larger than 1048576 bytes"}},
	}
}

// TestHostileManifestsAreRefused: each hostile basic-sidecar.yaml, graded static-only, is refused before anything
// is applied, with a message naming the file, the object and the field: every ex1 check fails with it, the grading
// neither panics nor errors, ex2 and ex3 (the reference's) pass, and the grading allocates < 256 MiB of Go heap.
func TestHostileManifestsAreRefused(t *testing.T) {
	for _, h := range hostiles(t) {
		t.Run(h.name, func(t *testing.T) {
			dir := submission(t, nil)
			h.manifest(t, dir)

			var s *result.Submission
			grew := allocated(func() {
				assert.NotPanics(t, func() { s = grader.Grade(context.Background(), dir, grader.WithStaticOnly()) })
			})
			require.NotNil(t, s)
			assert.Less(t, grew, uint64(256*mib), "grading allocated %d MiB", grew/mib)
			t.Logf("grading allocated %d MiB; ex1.manifest: %.400s", grew/mib, s.Find("ex1.manifest").Message)
			assert.Equal(t, result.StatusGraded, s.Status, "a hostile submission is the student's failure, not a grader error: %v", s.Error)
			for _, e := range s.Exercises {
				for _, c := range e.Checks {
					assert.NotEqual(t, result.Error, c.Status, "%s: %s", c.ID, c.Message)
					switch {
					case e.ID == "ex1":
						assert.Equal(t, result.Failed, c.Status, "%s", c.ID)
						for _, n := range h.names {
							assert.Contains(t, c.Message, n, "%s names the refusal", c.ID)
						}
					case e.ID == grader.AdvisoryID || c.Kind == result.Runtime:
					default:
						assert.Equal(t, result.Passed, c.Status, "%s: the other files are the reference's: %s", c.ID, c.Message)
					}
				}
			}
		})
	}
}

// TestNamespaceOverridesAreNotRefused: objects that say metadata.namespace: kube-system are not refused (the
// grader applies every object in its own namespace: the runtime test checks it on the cluster, and the submission
// package's tests that NamespaceOverrides names them); their static verdicts are the reference's.
func TestNamespaceOverridesAreNotRefused(t *testing.T) {
	replace := map[string]string{}
	for _, m := range manifests {
		replace[m] = inKubeSystem(t, m)
	}
	s := grader.Grade(context.Background(), submission(t, replace), grader.WithStaticOnly())
	require.Equal(t, result.StatusGraded, s.Status)
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			if c.Kind == result.Static {
				assert.Equal(t, result.Passed, c.Status, "%s: %s", c.ID, c.Message)
			}
		}
	}
}

// TestFloodingSidecarPassesStatically: the flooding submission of the runtime test is a valid lab pod, refused by
// nothing: its failure shows only when it runs.
func TestFloodingSidecarPassesStatically(t *testing.T) {
	basic := floodingBasic(t)
	assert.Contains(t, basic, `command: ["yes"]`)
	s := grader.Grade(context.Background(), submission(t, map[string]string{"basic-sidecar.yaml": basic}),
		grader.WithStaticOnly(), grader.WithExercises("ex1"))
	require.Equal(t, result.StatusGraded, s.Status)
	for _, c := range s.Exercises[0].Checks {
		if c.Kind == result.Static {
			assert.Equal(t, result.Passed, c.Status, "%s: %s", c.ID, c.Message)
		}
	}
}
