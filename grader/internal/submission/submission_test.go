package submission

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web-with-sidecar
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: web-app
    image: nginx:1.24-alpine
`

const configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-content
data:
  index.html: hello
`

// write writes name with content into a new temp dir and returns the dir.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

func docs(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%d\n---\n", i)
	}
	return b.String()
}

// aliasBomb is the YAML "billion laughs": 9 levels of 9 aliases, 9^9 strings once expanded.
const aliasBomb = `apiVersion: v1
kind: ConfigMap
metadata: {name: lol}
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestLoad(t *testing.T) {
	oneMiB := int(DefaultLimits.MaxFileBytes)
	padded := func(n int) string { // a valid manifest padded with a comment to exactly n bytes
		s := podYAML + "# "
		return s + strings.Repeat("x", n-len(s))
	}
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string // substring of Err; "" for none
		objects int
		path    string // base name of Path
	}{
		{name: "missing file", files: map[string]string{"other.yaml": podYAML},
			wantErr: "basic-sidecar.yaml is missing from the submission (basic-sidecar.yml is accepted too)"},
		{name: ".yaml", files: map[string]string{"basic-sidecar.yaml": podYAML}, objects: 1, path: "basic-sidecar.yaml"},
		{name: ".yml accepted", files: map[string]string{"basic-sidecar.yml": podYAML + "---\n" + configMapYAML},
			objects: 2, path: "basic-sidecar.yml"},
		{name: "both .yaml and .yml", files: map[string]string{"basic-sidecar.yaml": podYAML, "basic-sidecar.yml": podYAML},
			wantErr: "both basic-sidecar.yaml and basic-sidecar.yml exist; keep only one"},
		{name: "exactly 1 MiB accepted", files: map[string]string{"basic-sidecar.yaml": padded(oneMiB)}, objects: 1,
			path: "basic-sidecar.yaml"},
		{name: "over 1 MiB", files: map[string]string{"basic-sidecar.yaml": padded(oneMiB + 1)},
			wantErr: "basic-sidecar.yaml is larger than 1048576 bytes"},
		{name: "50 documents accepted", files: map[string]string{"basic-sidecar.yaml": docs(50)}, objects: 50,
			path: "basic-sidecar.yaml"},
		{name: "over 50 documents", files: map[string]string{"basic-sidecar.yaml": docs(51)},
			wantErr: "basic-sidecar.yaml: more than 50 YAML documents"},
		{name: "alias bomb", files: map[string]string{"basic-sidecar.yaml": aliasBomb},
			wantErr: "basic-sidecar.yaml: document 1 is refused: its YAML aliases (*name) expand it to more than 4194304 bytes"},
		{name: "a YAML list", files: map[string]string{"basic-sidecar.yaml": "- " + strings.ReplaceAll(strings.TrimSpace(podYAML), "\n", "\n  ") + "\n"},
			wantErr: "document 1 is a list, not a Kubernetes object"},
		{name: "not YAML", files: map[string]string{"basic-sidecar.yaml": "apiVersion: v1\nkind: [Pod\n  name: {{x}}\n"},
			wantErr: "basic-sidecar.yaml: document 1 is not valid YAML"},
		{name: "plain text", files: map[string]string{"basic-sidecar.yaml": "I did not finish this exercise.\n"},
			wantErr: "document 1 is a string, not a Kubernetes object"},
		{name: "binary with NUL bytes", files: map[string]string{"basic-sidecar.yaml": "\x7fELF\x02\x01\x01\x00\x00\x00"},
			wantErr: "basic-sidecar.yaml: the file is not text (it holds binary data)"},
		{name: "binary without NUL bytes", files: map[string]string{"basic-sidecar.yaml": "\xff\xfe\x80\x81garbage: \xc3\x28"},
			wantErr: "basic-sidecar.yaml: the file is UTF-16 text; save it as UTF-8"},
		{name: "invalid UTF-8", files: map[string]string{"basic-sidecar.yaml": "apiVersion: v1\nkind: \x80\x81\xc3\x28\n"},
			wantErr: "basic-sidecar.yaml: the file is not UTF-8 text"},
		{name: "UTF-8 with a byte order mark", files: map[string]string{"basic-sidecar.yaml": "\xef\xbb\xbf" + podYAML},
			objects: 1, path: "basic-sidecar.yaml"},
		{name: "CRLF line ends", files: map[string]string{"basic-sidecar.yaml": strings.ReplaceAll(podYAML+"---\n"+configMapYAML, "\n", "\r\n")},
			objects: 2, path: "basic-sidecar.yaml"},
		{name: "empty file", files: map[string]string{"basic-sidecar.yaml": ""},
			wantErr: "basic-sidecar.yaml: the file declares no Kubernetes objects"},
		{name: "only comments and separators", files: map[string]string{"basic-sidecar.yaml": "# todo\n---\n---\n# later\n"},
			wantErr: "the file declares no Kubernetes objects"},
		{name: "no kind", files: map[string]string{"basic-sidecar.yaml": "apiVersion: v1\nmetadata: {name: x}\n"},
			wantErr: "document 1 has no kind or apiVersion"},
		{name: "no name", files: map[string]string{"basic-sidecar.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {}\n"},
			wantErr: "document 1 (Pod) has no metadata.name"},
		{name: "metadata not a mapping", files: map[string]string{"basic-sidecar.yaml": "apiVersion: v1\nkind: Pod\nmetadata: web\n"},
			wantErr: "document 1: metadata is a string, not a mapping"},
		{name: "unknown field", files: map[string]string{"basic-sidecar.yaml": strings.Replace(podYAML, "    image:", "    volumeMount: []\n    image:", 1)},
			wantErr: `document 1 (Pod "web-with-sidecar") does not fit the Kubernetes schema (kubectl apply refuses it too): unknown field "spec.containers[0].volumeMount"`},
		{name: "field in the wrong case", files: map[string]string{"basic-sidecar.yaml": strings.Replace(podYAML, "  containers:", "  HostNetwork: true\n  containers:", 1)},
			wantErr: `unknown field "spec.HostNetwork"`},
		{name: "wrong type", files: map[string]string{"basic-sidecar.yaml": strings.Replace(podYAML, "terminationGracePeriodSeconds: 5", "terminationGracePeriodSeconds: soon", 1)},
			wantErr: `document 1 (Pod "web-with-sidecar") does not fit the Kubernetes schema`},
		{name: "an object declared twice", files: map[string]string{"basic-sidecar.yaml": configMapYAML + "---\n" + podYAML + "---\n" + configMapYAML},
			wantErr: "basic-sidecar.yaml: document 1 (ConfigMap web-content) and document 3 (ConfigMap web-content) declare the same object; keep one"},
		{name: "same name, other kinds", files: map[string]string{"basic-sidecar.yaml": configMapYAML + "---\n" + strings.Replace(podYAML, "web-with-sidecar", "web-content", 1)},
			objects: 2, path: "basic-sidecar.yaml"},
		{name: "refused by the policy", files: map[string]string{"basic-sidecar.yaml": podYAML + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: mine}\n"},
			wantErr: "basic-sidecar.yaml is refused, so nothing of it is applied: document 2 (Namespace mine): kind Namespace (apiVersion v1) is not allowed"},
		{name: "a namespace is not refused", files: map[string]string{"basic-sidecar.yaml": strings.Replace(podYAML, "  name: web-with-sidecar\n", "  name: web-with-sidecar\n  namespace: kube-system\n", 1)},
			objects: 1, path: "basic-sidecar.yaml"},
		{name: "bad document separator", files: map[string]string{"basic-sidecar.yaml": podYAML + "--- oops\n" + configMapYAML},
			wantErr: "basic-sidecar.yaml: the file cannot be split into YAML documents (at the end of document 1): invalid Yaml document separator: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Load(write(t, tt.files), "basic-sidecar", DefaultLimits)
			if tt.wantErr != "" {
				require.Error(t, f.Err)
				assert.Contains(t, f.Err.Error(), tt.wantErr)
				var pe *PolicyError
				if !errors.As(f.Err, &pe) {
					assert.Empty(t, f.Objects, "a file that does not load has no objects")
				}
				return
			}
			require.NoError(t, f.Err)
			assert.Len(t, f.Objects, tt.objects)
			assert.Equal(t, tt.path, filepath.Base(f.Path))
			assert.Equal(t, tt.path, f.Name())
		})
	}
}

func TestLoadNotRegular(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "basic-sidecar.yaml"), 0o755))
	f := Load(dir, "basic-sidecar", DefaultLimits)
	require.Error(t, f.Err)
	assert.Contains(t, f.Err.Error(), "basic-sidecar.yaml is not a regular file")

	dir = write(t, map[string]string{"target.yaml": podYAML})
	require.NoError(t, os.Symlink(filepath.Join(dir, "target.yaml"), filepath.Join(dir, "basic-sidecar.yml")))
	f = Load(dir, "basic-sidecar", DefaultLimits)
	require.Error(t, f.Err)
	assert.Contains(t, f.Err.Error(), "basic-sidecar.yml is not a regular file")
	assert.Equal(t, "basic-sidecar.yaml", f.Name(), "a file that was not read is named by its exercise")
}

// The alias bomb must be refused quickly and without expanding it in memory.
func TestAliasBombIsCheap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	_, err := Parse([]byte(aliasBomb), DefaultLimits)
	took := time.Since(t0)
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	assert.Less(t, took, 2*time.Second, "the alias bomb took %v", took)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "the alias bomb allocated %d bytes", after.TotalAlloc-before.TotalAlloc)
}

// Deeply nested YAML is refused by the parser's depth limit, quickly.
func TestDeepNestingIsRefused(t *testing.T) {
	for _, data := range []string{
		strings.Repeat("[", 200000),
		"a:\n" + strings.Repeat(" {b:", 20000) + "1" + strings.Repeat("}", 20000),
	} {
		t0 := time.Now()
		_, err := Parse([]byte(data), DefaultLimits)
		require.Error(t, err)
		assert.Less(t, time.Since(t0), 5*time.Second)
	}
}

func TestParseList(t *testing.T) {
	list := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-with-sidecar}
  spec:
    containers: [{name: web-app, image: "nginx:1.24-alpine"}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: other-content}
  data: {index.html: hi}
`
	objs, err := Parse([]byte("# a comment-only document first\n---\n"+configMapYAML+"---\n"+list), DefaultLimits)
	require.NoError(t, err)
	require.Len(t, objs, 3)
	assert.Equal(t, []int{1, 2, 2}, []int{objs[0].Doc, objs[1].Doc, objs[2].Doc}, "comment-only documents are not counted")
	assert.Equal(t, []int{0, 1, 2}, []int{objs[0].Item, objs[1].Item, objs[2].Item})
	require.NotNil(t, objs[1].Pod)
	assert.Equal(t, "nginx:1.24-alpine", objs[1].Pod.Spec.Containers[0].Image)
	require.NotNil(t, objs[2].ConfigMap)
	assert.Equal(t, "other-content", objs[2].Name)
	assert.Equal(t, "hi", objs[2].ConfigMap.Data["index.html"])
	assert.Equal(t, "document 2, List item 1 (Pod web-with-sidecar)", objs[1].Where())

	f := &File{Exercise: "basic-sidecar", Objects: objs}
	assert.NotNil(t, f.Pod("web-with-sidecar"))
	assert.NotNil(t, f.ConfigMap("web-content"))
	assert.Nil(t, f.PVC("log-storage"))
	assert.Equal(t, "ConfigMap/web-content, Pod/web-with-sidecar, ConfigMap/other-content", f.Describe())

	_, err = Parse([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n"), DefaultLimits)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a List inside a List")

	_, err = Parse([]byte("apiVersion: v1\nkind: List\nitems:\n- just a string\n"), DefaultLimits)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document 1, List item 1, is a string")

	var many strings.Builder
	many.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := 0; i < 51; i++ {
		fmt.Fprintf(&many, "- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm%d}}\n", i)
	}
	_, err = Parse([]byte(many.String()), DefaultLimits)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than 50 objects (counting List items)")
}

func TestParseDecoding(t *testing.T) {
	y := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 5
  containers: [{name: a, image: b}]
  volumes:
  - name: scripts
    configMap:
      name: log-processor-config
      defaultMode: 0755
`
	objs, err := Parse([]byte(y), DefaultLimits)
	require.NoError(t, err)
	require.NotNil(t, objs[0].Pod)
	require.NotNil(t, objs[0].Pod.Spec.Volumes[0].ConfigMap.DefaultMode)
	assert.Equal(t, int32(493), *objs[0].Pod.Spec.Volumes[0].ConfigMap.DefaultMode, "YAML 1.1 octal 0755 is 493")

	// The generic view keeps integers as int64, as unstructured objects expect.
	v, found, err := unstructured.NestedInt64(objs[0].Raw.Object, "spec", "terminationGracePeriodSeconds")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, int64(5), v)
	mode, _, err := unstructured.NestedSlice(objs[0].Raw.Object, "spec", "volumes")
	require.NoError(t, err)
	assert.Equal(t, int64(493), mode[0].(map[string]any)["configMap"].(map[string]any)["defaultMode"])

	// Kinds outside the lab's keep only their generic view.
	objs, err = Parse([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: prod}\nspec: {replicas: 1}\n"), DefaultLimits)
	require.NoError(t, err)
	assert.Nil(t, objs[0].Pod)
	assert.Equal(t, "Deployment", objs[0].Kind)
	assert.Equal(t, "prod", objs[0].Namespace)
}

func TestLoadRefusedFile(t *testing.T) {
	hostPath := strings.Replace(podYAML, "  containers:", "  hostNetwork: true\n  volumes: [{name: h, hostPath: {path: /}}]\n  containers:", 1)
	f := Load(write(t, map[string]string{"persistent-sidecar.yml": configMapYAML + "---\n" + hostPath}), "persistent-sidecar", DefaultLimits)
	var pe *PolicyError
	require.ErrorAs(t, f.Err, &pe)
	assert.Equal(t, "persistent-sidecar.yml", pe.File)
	assert.Equal(t, []string{
		"document 2 (Pod web-with-sidecar): spec.hostNetwork is true: pods may not use the node's network; remove it",
		"document 2 (Pod web-with-sidecar): spec.volumes[0] (h).hostPath mounts a directory of the node: use an emptyDir, a ConfigMap or a PersistentVolumeClaim",
	}, pe.Violations)
	assert.Len(t, f.Objects, 2, "a refused file keeps its objects, for messages")
	assert.Len(t, f.Violations(), 2)
	assert.True(t, strings.HasPrefix(f.Violations()[0], "persistent-sidecar.yml, document 2 (Pod web-with-sidecar): spec.hostNetwork"))
}

func TestDescribeTellsOfIgnoredNamespaces(t *testing.T) {
	objs, err := Parse([]byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: prod}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: prod}
spec: {containers: [{name: c, image: busybox:1.35}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: kube-system}
`), DefaultLimits)
	require.NoError(t, err)
	f := &File{Exercise: "basic-sidecar", Objects: objs}
	assert.Equal(t, `ConfigMap/a, Pod/b, ConfigMap/c (metadata.namespace "prod, kube-system" is not used: the grader runs each exercise in a namespace of its own)`, f.Describe())
}
