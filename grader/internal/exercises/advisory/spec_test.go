package advisory

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

func file(t *testing.T, name, y string) *submission.File {
	t.Helper()
	objs, err := submission.Parse([]byte(y), submission.DefaultLimits)
	require.NoError(t, err)
	return &submission.File{Exercise: name, Path: "/sub/" + name + ".yaml", Objects: objs}
}

const good = `apiVersion: v1
kind: Pod
metadata: {name: web-with-sidecar}
spec:
  initContainers:
  - name: setup
    image: busybox:1.35
    resources: {limits: {cpu: 10m, memory: 8Mi}}
  containers:
  - name: web-app
    image: nginx:1.24-alpine
    readinessProbe: {httpGet: {path: /, port: 80}}
    resources: {limits: {cpu: 100m, memory: 64Mi}}
  - name: log-sidecar
    image: busybox:1.35
    readinessProbe: {exec: {command: [test, -f, /logs/access.log]}}
    resources: {requests: {cpu: 10m}, limits: {cpu: 50m, memory: 32Mi}}
`

func TestProbesAndLimits(t *testing.T) {
	bad := `apiVersion: v1
kind: Pod
metadata: {name: persistent-log-demo}
spec:
  initContainers:
  - name: native
    image: busybox:1.35
    restartPolicy: Always
    resources: {limits: {cpu: 10m}}
  containers:
  - name: app
    image: python:3.11-alpine
    readinessProbe: {exec: {command: ["true"]}}
    resources: {limits: {cpu: 100m, memory: 64Mi}}
`
	broken := &submission.File{Exercise: "advanced-sidecar", Err: errors.New("advanced-sidecar.yaml is missing")}
	configOnly := file(t, "advanced-sidecar", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	tests := []struct {
		name         string
		files        []*submission.File
		probes       result.Status
		probesSeen   string
		limits       result.Status
		limitsSeen   string
		passMessages bool
	}{
		{name: "all good", files: []*submission.File{file(t, "basic-sidecar", good), broken, nil, configOnly},
			probes: result.Passed, probesSeen: "all 2 containers of 1 Pods in basic-sidecar.yaml, advanced-sidecar.yaml",
			limits: result.Passed, limitsSeen: "all 3 containers of 1 Pods"},
		{name: "a native sidecar without a probe, limits missing", files: []*submission.File{file(t, "basic-sidecar", good), file(t, "persistent-sidecar", bad)},
			probes: result.Failed, probesSeen: "persistent-sidecar.yaml: Pod `persistent-log-demo`, container `native` has no readinessProbe",
			limits: result.Failed, limitsSeen: "persistent-sidecar.yaml: Pod `persistent-log-demo`, container `native` has no memory limit"},
		{name: "nothing loaded", files: []*submission.File{broken, nil},
			probes: result.Failed, probesSeen: "no manifest loaded", limits: result.Failed, limitsSeen: "no manifest loaded"},
		{name: "no files", probes: result.Failed, probesSeen: "no manifest loaded", limits: result.Failed, limitsSeen: "no manifest loaded"},
		{name: "no pods", files: []*submission.File{configOnly},
			probes: result.Failed, probesSeen: "no Pod in advanced-sidecar.yaml", limits: result.Failed, limitsSeen: "no Pod in advanced-sidecar.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Probes(tt.files)
			assert.Equal(t, tt.probes, p.Status, p.Message)
			assert.Contains(t, p.Message, tt.probesSeen)
			l := Limits(tt.files)
			assert.Equal(t, tt.limits, l.Status, l.Message)
			assert.Contains(t, l.Message, tt.limitsSeen)
			if p.Status == result.Failed {
				assert.NotEmpty(t, p.Hint)
			}
			if l.Status == result.Failed {
				assert.NotEmpty(t, l.Hint)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	require.Len(t, Checks, 3)
	assert.Equal(t, []string{ProbesID, LimitsID, GracefulStopID}, []string{Checks[0].ID, Checks[1].ID, Checks[2].ID})
	for _, c := range Checks {
		assert.Zero(t, c.Points, c.ID)
		assert.NotEmpty(t, c.Title, c.ID)
	}
	assert.Equal(t, result.Runtime, Checks[2].Kind)
	assert.Len(t, Static, 2)
}
