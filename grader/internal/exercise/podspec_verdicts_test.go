package exercise

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

func TestRequirePod(t *testing.T) {
	objs, err := submission.Parse([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-content}\n---\n"+
		"apiVersion: v1\nkind: Pod\nmetadata: {name: web-with-sidecar}\nspec: {containers: [{name: web-app, image: x}]}\n"), submission.DefaultLimits)
	require.NoError(t, err)
	f := &submission.File{Exercise: "basic-sidecar", Path: "/s/basic-sidecar.yaml", Objects: objs}

	pod, _ := RequirePod(f, "web-with-sidecar")
	require.NotNil(t, pod)
	assert.Equal(t, "web-app", pod.Spec.Containers[0].Name)

	tests := []struct {
		name    string
		f       *submission.File
		pod     string
		message string
		hint    string
	}{
		{name: "missing", f: f, pod: "other",
			message: "expected the Pod `other` in basic-sidecar.yaml; saw the Pod `other` is missing; the file declares ConfigMap/web-content, Pod/web-with-sidecar",
			hint:    "Declare a Pod with `metadata.name: other`; the lab's commands use that name."},
		{name: "file not loaded", f: &submission.File{Exercise: "basic-sidecar", Err: errors.New("basic-sidecar.yaml is missing")}, pod: "p",
			message: "expected the Pod `p` in basic-sidecar.yaml; saw a file that cannot be used: basic-sidecar.yaml is missing"},
		{name: "no file", pod: "p", message: "expected the Pod `p`; saw no manifest"},
		{name: "not v1", f: &submission.File{Objects: []*submission.Object{{Kind: "Pod", Name: "p",
			Raw: &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1"}}}}}, pod: "p",
			message: "expected the Pod `p` in .yaml (apiVersion v1); saw the Pod `p` with apiVersion apps/v1"},
		{name: "untyped", f: &submission.File{Objects: []*submission.Object{{Kind: "Pod", Name: "p"}}}, pod: "p",
			message: "saw the Pod `p` with apiVersion unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod, v := RequirePod(tt.f, tt.pod)
			assert.Nil(t, pod)
			assert.Equal(t, result.Failed, v.Status)
			assert.Contains(t, v.Message, tt.message)
			assert.Contains(t, v.Hint, tt.hint)
		})
	}
}

func TestCheckDeclared(t *testing.T) {
	cm := func(doc int, apiVersion string) *submission.Object {
		return &submission.Object{Doc: doc, Kind: "ConfigMap", Name: "web-content",
			Raw:       &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion}},
			ConfigMap: &corev1.ConfigMap{Data: map[string]string{"page.html": "x"}}}
	}
	var fs Findings
	o := CheckDeclared(&fs, &submission.File{Objects: []*submission.Object{cm(1, "v1"), cm(3, "v1")}}, "ConfigMap", "web-content")
	require.NotNil(t, o)
	o.ConfigMap.Name = "web-content"
	CheckConfigMapKeys(&fs, o.ConfigMap, "index.html")
	CheckConfigMapKeys(&fs, nil, "index.html")
	assert.Nil(t, CheckDeclared(&fs, &submission.File{Objects: []*submission.Object{cm(1, "v2")}}, "ConfigMap", "web-content"))
	assert.Nil(t, CheckDeclared(&fs, nil, "Pod", "p"))
	v := fs.Verdict("things", check.Pass("fine"))
	assert.Equal(t, result.Failed, v.Status)
	assert.Equal(t, "expected things; saw the ConfigMap `web-content` is declared 2 times (documents 1 and 3); "+
		"the ConfigMap `web-content` has no key `index.html` (its keys: `page.html`); the ConfigMap `web-content` has apiVersion v2; no Pod `p`", v.Message)
	assert.Equal(t, "Declare the ConfigMap `web-content` once; put the content under the key `index.html` in the ConfigMap `web-content`'s data; "+
		"a ConfigMap's apiVersion is v1; declare a Pod with `metadata.name: p` (the lab's commands use that name).", v.Hint)

	var none Findings
	assert.True(t, none.Empty())
	assert.Equal(t, check.Pass("fine"), none.Verdict("things", check.Pass("fine")))
}

func TestCheckImageAndResources(t *testing.T) {
	p := pod(t, `spec:
  containers:
  - {name: web-app, image: "docker.io/library/nginx:1.24-alpine", resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 10m, memory: 64Mi}}}
  - {name: log-sidecar}
`)
	var fs Findings
	CheckImage(&fs, p, "web-app", "nginx:1.24-alpine")
	assert.True(t, fs.Empty())
	CheckImage(&fs, p, "log-sidecar", "busybox:1.35")
	CheckImage(&fs, p, "missing", "busybox:1.35")
	CheckResources(&fs, p, "web-app", true, true)
	CheckResources(&fs, p, "nope", true, true)
	v := fs.Verdict("x", check.Pass(""))
	assert.Equal(t, "expected x; saw `log-sidecar` runs `no image`; no container `missing` (the Pod has containers web-app, log-sidecar); "+
		"`web-app` has cpu limit 10m is below its request 50m (requests cpu=50m memory=32Mi; limits cpu=10m memory=64Mi); "+
		"no container `nope` (the Pod has containers web-app, log-sidecar)", v.Message)
	assert.Nil(t, ContainersVerdict(p, "p", "x", "web-app"))
	cv := ContainersVerdict(p, "p", "x", "web-app", "log-forwarder")
	require.NotNil(t, cv)
	assert.Equal(t, "expected x; saw no container `log-forwarder` in the Pod `p` (it has containers web-app, log-sidecar)", cv.Message)
}

func TestCheckSharedLogVolume(t *testing.T) {
	var fs Findings
	assert.Equal(t, "emptyDir `shared-logs` is mounted at /var/log/nginx in `web-app` and at /shared-logs in `log-sidecar`",
		CheckSharedLogVolume(&fs, pod(t, labEx1), "/var/log/nginx", "web-app", "log-sidecar"))
	assert.True(t, fs.Empty())

	// Two emptyDirs: the one at /var/log/nginx in web-app is chosen, whatever its place.
	p := pod(t, `spec:
  containers:
  - name: w
    volumeMounts: [{name: tmp, mountPath: /tmp}, {name: logs, mountPath: /var/log/nginx}]
  - name: s
    volumeMounts: [{name: tmp, mountPath: /tmp}, {name: logs, mountPath: /in}]
  volumes: [{name: tmp, emptyDir: {}}, {name: logs, emptyDir: {}}]
`)
	assert.Equal(t, "emptyDir `logs` is mounted at /var/log/nginx in `w` and at /in in `s`", CheckSharedLogVolume(&fs, p, "/var/log/nginx", "w", "s"))

	assert.Empty(t, CheckSharedLogVolume(&fs, pod(t, "spec: {containers: [{name: w}]}"), "/var/log/nginx", "w", "s"))
	assert.Empty(t, CheckSharedLogVolume(&fs, nil, "/var/log/nginx", "w", "s"))
	v := fs.Verdict("x", check.Pass(""))
	assert.Equal(t, "expected x; saw no emptyDir volume (no volumes); no emptyDir volume (no volumes)", v.Message)
	assert.Contains(t, v.Hint, "Declare a volume with `emptyDir: {}` and mount it in `w` at /var/log/nginx and in `s` at a path of your choice")
}

func TestUnusable(t *testing.T) {
	_, bad := Unusable(&submission.File{}, "x")
	assert.False(t, bad)
	v, bad := Unusable(&submission.File{Exercise: "e", Err: errors.New("boom")}, "x")
	assert.True(t, bad)
	assert.Equal(t, "expected x; saw a file that cannot be used: boom", v.Message)
	assert.Equal(t, "Fix the file so that `kubectl apply -f e.yaml` accepts it.", v.Hint)
	assert.Equal(t, "none", Quote(nil))
	assert.Equal(t, "no ports", DescribePorts(nil))
	assert.Equal(t, "the image's default command (no command or args)", DescribeCommand(nil))
}
