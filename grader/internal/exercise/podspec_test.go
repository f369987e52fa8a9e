package exercise

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// pod parses a one-Pod manifest.
func pod(t *testing.T, y string) *corev1.Pod {
	t.Helper()
	objs, err := submission.Parse([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"+y), submission.DefaultLimits)
	require.NoError(t, err)
	require.NotNil(t, objs[0].Pod)
	return objs[0].Pod
}

// container parses one container.
func container(t *testing.T, y string) *corev1.Container {
	t.Helper()
	return &pod(t, "spec:\n  containers:\n  - "+y+"\n").Spec.Containers[0]
}

const labEx1 = `spec:
  containers:
  - name: web-app
    image: nginx:1.24-alpine
    volumeMounts:
    - {name: shared-logs, mountPath: /var/log/nginx/}
    - {name: web-content, mountPath: /usr/share/nginx/html}
  - name: log-sidecar
    image: busybox:1.35
    volumeMounts:
    - {name: shared-logs, mountPath: /shared-logs}
  volumes:
  - {name: shared-logs, emptyDir: {}}
  - {name: web-content, configMap: {name: web-content}}
`

func TestContainers(t *testing.T) {
	p := pod(t, `spec:
  initContainers:
  - {name: setup, image: busybox:1.35}
  - {name: native, image: busybox:1.35, restartPolicy: Always}
  containers:
  - {name: web-app, image: nginx:1.24-alpine}
`)
	assert.Equal(t, []string{"web-app", "native"}, ContainerNames(p))
	assert.Len(t, AllContainers(p), 3)
	assert.NotNil(t, Container(p, "native"))
	assert.Nil(t, Container(p, "setup"), "a run-to-completion init container is not a long-running container")
	assert.Nil(t, Container(p, "nope"))
	assert.Nil(t, Container(nil, "web-app"))
	assert.Empty(t, ContainerNames(nil))
	assert.Equal(t, []string{"web-app", "native"}, MissingContainers(nil, "web-app", "native"))
	assert.Equal(t, "no containers", DescribeContainers(&corev1.Pod{}))
}

func TestVolumes(t *testing.T) {
	p := pod(t, `spec:
  containers: [{name: a, image: x}]
  volumes:
  - {name: explicit, emptyDir: {}}
  - {name: defaulted}
  - {name: cm, configMap: {name: web-content}}
  - {name: proj, projected: {sources: [{secret: {name: s}}, {configMap: {name: web-content}}]}}
  - {name: claim, persistentVolumeClaim: {claimName: log-storage}}
  - {name: host, hostPath: {path: /tmp}}
`)
	assert.Equal(t, []string{"explicit", "defaulted"}, EmptyDirVolumes(p), "a volume without a source is an emptyDir")
	assert.Equal(t, []string{"cm", "proj"}, ConfigMapVolumes(p, "web-content"))
	assert.Equal(t, []string{"claim"}, ClaimVolumes(p, "log-storage"))
	assert.Equal(t, []string{"hostPath"}, VolumeSourceKinds(Volume(p, "host")))
	assert.Nil(t, Volume(p, "nope"))
	assert.Nil(t, VolumeSourceKinds(nil))
	assert.Empty(t, EmptyDirVolumes(nil))
	assert.Empty(t, ConfigMapVolumes(nil, "x"))
	assert.Empty(t, ClaimVolumes(nil, "x"))
	assert.Equal(t, "volumes explicit (emptyDir), defaulted (emptyDir), cm (configMap web-content), proj (projected), "+
		"claim (persistentVolumeClaim log-storage), host (hostPath)", DescribeVolumes(p))
}

func TestMountPathAndSharedEmptyDir(t *testing.T) {
	p := pod(t, labEx1)
	assert.Equal(t, "/var/log/nginx", MountPath(p, "web-app", "shared-logs"), "paths are cleaned")
	assert.Equal(t, "", MountPath(p, "log-sidecar", "web-content"))
	assert.Equal(t, "", MountPath(p, "nope", "shared-logs"))
	assert.Equal(t, []string{"shared-logs", "web-content"}, MountedVolumes(p, "web-app"))

	name, paths, ok := SharedEmptyDir(p, "web-app", "log-sidecar")
	require.True(t, ok)
	assert.Equal(t, "shared-logs", name)
	assert.Equal(t, map[string]string{"web-app": "/var/log/nginx", "log-sidecar": "/shared-logs"}, paths)

	_, _, ok = SharedEmptyDir(p, "web-app", "log-sidecar", "nope")
	assert.False(t, ok)
	_, _, ok = SharedEmptyDir(nil, "web-app")
	assert.False(t, ok)
	_, _, ok = SharedEmptyDir(p)
	assert.False(t, ok, "no containers, nothing shared")

	// A whole-volume mount is preferred to a subPath one; several shared emptyDirs are all found.
	p = pod(t, `spec:
  containers:
  - name: a
    image: x
    volumeMounts:
    - {name: one, mountPath: /sub/file, subPath: file}
    - {name: one, mountPath: /whole}
    - {name: two, mountPath: /two}
  - name: b
    image: x
    volumeMounts:
    - {name: one, mountPath: /b1}
    - {name: two, mountPath: /b2}
  volumes: [{name: one, emptyDir: {}}, {name: two, emptyDir: {medium: Memory}}]
`)
	assert.Equal(t, "/whole", MountPath(p, "a", "one"))
	all := SharedEmptyDirs(p, "a", "b")
	require.Len(t, all, 2)
	assert.Equal(t, "two", all[1].Name)
	assert.Equal(t, map[string]string{"a": "/two", "b": "/b2"}, all[1].MountPaths)
	m, ok := MountedAt(p, "a", "one", "/sub/file/")
	assert.True(t, ok)
	assert.Equal(t, "file", m.SubPath)
	assert.Equal(t, "`one` is mounted in a at /sub/file (subPath file) and /whole, not mounted in c", DescribeVolumeUse(p, "one", "a", "c"))
}

func TestConfigMapFileAt(t *testing.T) {
	spec := func(mounts, volumes string) string {
		return "spec:\n  containers:\n  - name: c\n    image: x\n    volumeMounts:\n" + mounts + "  volumes:\n" + volumes
	}
	cm := "  - {name: cfg, configMap: {name: log-processor-config}}\n"
	tests := []struct {
		name      string
		spec      string
		path      string
		ok        bool
		configMap string
		key       string
		mode      int32
	}{
		{name: "directory mount", spec: spec("    - {name: cfg, mountPath: /scripts}\n", cm),
			path: "/scripts/processor.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o644},
		{name: "directory mount with defaultMode", spec: spec("    - {name: cfg, mountPath: /scripts}\n",
			"  - {name: cfg, configMap: {name: log-processor-config, defaultMode: 0755}}\n"),
			path: "/scripts/processor.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o755},
		{name: "not below the mount", spec: spec("    - {name: cfg, mountPath: /scripts}\n", cm), path: "/scriptsx/processor.py"},
		{name: "the mount point itself is a directory", spec: spec("    - {name: cfg, mountPath: /etc/nginx/conf.d/default.conf}\n", cm),
			path: "/etc/nginx/conf.d/default.conf"},
		{name: "subPath mount", spec: spec("    - {name: cfg, mountPath: /etc/nginx/conf.d/default.conf, subPath: nginx.conf}\n", cm),
			path: "/etc/nginx/conf.d/default.conf", ok: true, configMap: "log-processor-config", key: "nginx.conf", mode: 0o644},
		{name: "items path mapping", spec: spec("    - {name: cfg, mountPath: /app}\n",
			"  - {name: cfg, configMap: {name: log-processor-config, items: [{key: processor.py, path: p.py, mode: 0700}]}}\n"),
			path: "/app/p.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o700},
		{name: "items mapping into a subdirectory", spec: spec("    - {name: cfg, mountPath: /app}\n",
			"  - {name: cfg, configMap: {name: log-processor-config, items: [{key: processor.py, path: bin/run.py}]}}\n"),
			path: "/app/bin/run.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o644},
		{name: "a key left out of the items", spec: spec("    - {name: cfg, mountPath: /app}\n",
			"  - {name: cfg, configMap: {name: log-processor-config, items: [{key: other, path: other}]}}\n"),
			path: "/app/processor.py"},
		{name: "subPath of an items path", spec: spec("    - {name: cfg, mountPath: /opt/run.py, subPath: p.py}\n",
			"  - {name: cfg, configMap: {name: log-processor-config, items: [{key: processor.py, path: p.py}]}}\n"),
			path: "/opt/run.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o644},
		{name: "subPathExpr cannot be resolved", spec: spec("    - {name: cfg, mountPath: /opt/run.py, subPathExpr: $(X)}\n", cm),
			path: "/opt/run.py"},
		{name: "shadowed by a deeper emptyDir", spec: spec("    - {name: cfg, mountPath: /scripts}\n    - {name: tmp, mountPath: /scripts/sub}\n",
			cm+"  - {name: tmp, emptyDir: {}}\n"), path: "/scripts/sub/processor.py"},
		{name: "the deeper mount wins", spec: spec("    - {name: tmp, mountPath: /}\n    - {name: cfg, mountPath: /scripts}\n",
			cm+"  - {name: tmp, emptyDir: {}}\n"), path: "/scripts/processor.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o644},
		{name: "projected volume", spec: spec("    - {name: cfg, mountPath: /scripts}\n",
			"  - {name: cfg, projected: {defaultMode: 0555, sources: [{secret: {name: s}}, {configMap: {name: log-processor-config, items: [{key: processor.py, path: main.py}]}}]}}\n"),
			path: "/scripts/main.py", ok: true, configMap: "log-processor-config", key: "processor.py", mode: 0o555},
		{name: "an emptyDir is not a ConfigMap", spec: spec("    - {name: tmp, mountPath: /scripts}\n", "  - {name: tmp, emptyDir: {}}\n"),
			path: "/scripts/processor.py"},
		{name: "a mount of a missing volume", spec: spec("    - {name: ghost, mountPath: /scripts}\n", cm), path: "/scripts/processor.py"},
		{name: "a nested path without items", spec: spec("    - {name: cfg, mountPath: /scripts}\n", cm), path: "/scripts/a/processor.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(t, tt.spec)
			got, ok := ConfigMapFileAt(p, "c", tt.path)
			require.Equal(t, tt.ok, ok, "%+v", got)
			if ok {
				assert.Equal(t, tt.configMap, got.ConfigMap)
				assert.Equal(t, tt.key, got.Key)
				assert.Equal(t, tt.mode, got.Mode)
			}
			assert.NotEmpty(t, DescribeConfigMapFile(p, "c", tt.path, "log-processor-config"))
		})
	}
	_, ok := ConfigMapFileAt(nil, "c", "/x")
	assert.False(t, ok)
}

func TestScriptPaths(t *testing.T) {
	tests := []struct {
		name      string
		container string
		want      []string
	}{
		{name: "lab", container: "{name: c, command: [python, /scripts/processor.py]}", want: []string{"/scripts/processor.py"}},
		{name: "python3 -u", container: "{name: c, command: [python3, -u, /app/p.py]}", want: []string{"/app/p.py"}},
		{name: "args only", container: "{name: c, args: [python, /x/processor.py]}", want: []string{"/x/processor.py"}},
		{name: "command and args", container: "{name: c, command: [python], args: [/x/processor.py, --verbose]}", want: []string{"/x/processor.py"}},
		{name: "sh -c exec", container: `{name: c, command: [sh, -c, "exec python /x/processor.py"]}`, want: []string{"/x/processor.py"}},
		{name: "sh -c with cd", container: `{name: c, command: [sh, -c, "cd /app && python3 main.py"]}`, want: []string{"/app/main.py"}},
		{name: "relative to workingDir", container: "{name: c, workingDir: /scripts, command: [python, processor.py]}", want: []string{"/scripts/processor.py"}},
		{name: "relative without workingDir", container: "{name: c, command: [python, ./processor.py]}", want: []string{"/processor.py"}},
		{name: "python -c exec(open())", container: `{name: c, command: [python, -c, "exec(open('/scripts/processor.py').read())"]}`, want: []string{"/scripts/processor.py"}},
		{name: "a copy, then the copy", container: `{name: c, command: [sh, -c, "cp /cfg/processor.py /tmp/p.py; python /tmp/p.py"]}`, want: []string{"/cfg/processor.py", "/tmp/p.py"}},
		{name: "variables are not resolved", container: `{name: c, command: [sh, -c, "python $DIR/processor.py"]}`},
		{name: "no script", container: `{name: c, command: [python, -c, "print(1)"]}`},
		{name: "no command", container: "{name: c}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ScriptPaths(container(t, tt.container), ".py"))
		})
	}
	assert.Nil(t, ScriptPaths(nil, ".py"))
}

func TestAbsPathsAndExecutable(t *testing.T) {
	c := container(t, `{name: app, command: [python, -c, "logging.basicConfig(filename='/app-logs/application.log')\nopen(f'{d}/application.log')\nx = 'application.log'"]}`)
	assert.Equal(t, []string{"/app-logs/application.log"}, AbsPaths(c, "application.log"))
	assert.Equal(t, "python", Executable(c))
	assert.Equal(t, "/s/p.py", Executable(container(t, "{name: c, args: [/s/p.py]}")))
	assert.Equal(t, "", Executable(container(t, "{name: c}")))
	assert.Equal(t, "", Executable(nil))
	assert.Nil(t, AbsPaths(nil, "x"))
	assert.Equal(t, "`sh -c echo hi`", DescribeCommand(container(t, `{name: c, command: [sh, -c], args: ["echo   hi\n"]}`)))
}

func TestSameImage(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"nginx:1.24-alpine", "nginx:1.24-alpine", true},
		{"docker.io/library/nginx:1.24-alpine", "nginx:1.24-alpine", true},
		{"docker.io/nginx:1.24-alpine", "nginx:1.24-alpine", true},
		{"index.docker.io/library/nginx:1.24-alpine", "nginx:1.24-alpine", true},
		{" nginx:1.24-alpine ", "nginx:1.24-alpine", true},
		{"nginx:1.24-alpine@sha256:abc", "nginx:1.24-alpine", true},
		{"nginx@sha256:abc", "nginx@sha256:abc", true},
		{"nginx", "nginx:latest", true},
		{"nginx:1.24", "nginx:1.24-alpine", false},
		{"nginx", "nginx:1.24-alpine", false},
		{"nginx@sha256:abc", "nginx:1.24-alpine", false},
		{"quay.io/nginx/nginx:1.24-alpine", "nginx:1.24-alpine", false},
		{"myuser/nginx:1.24-alpine", "nginx:1.24-alpine", false},
		{"localhost:5000/nginx:1.24-alpine", "nginx:1.24-alpine", false},
		{"python:3.11-alpine", "python:3.11-alpine3.19", false},
		{"", "busybox:1.35", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.same, SameImage(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
		assert.Equal(t, tt.same, SameImage(tt.b, tt.a), "%q vs %q", tt.b, tt.a)
	}
	assert.Equal(t, ImageRef{Name: "localhost:5000/team/app", Tag: "v1"}, ParseImage("localhost:5000/team/app:v1"))
	assert.Equal(t, ImageRef{Name: "docker.io/library/busybox", Tag: "latest"}, ParseImage("busybox"))
}

func TestResourceProblems(t *testing.T) {
	tests := []struct {
		name     string
		res      string
		requests bool
		limits   bool
		want     []string
	}{
		{name: "all set", res: "{requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}", requests: true, limits: true},
		{name: "equal is fine, units differ", res: "{requests: {cpu: '0.1', memory: 1Gi}, limits: {cpu: 100m, memory: 1024Mi}}", requests: true, limits: true},
		{name: "nothing", res: "{}", requests: true, limits: true,
			want: []string{"no cpu request", "no cpu limit", "no memory request", "no memory limit"}},
		{name: "limits only default the requests", res: "{limits: {cpu: 100m, memory: 64Mi}}", requests: true, limits: true},
		{name: "limit below request", res: "{requests: {cpu: 200m, memory: 64Mi}, limits: {cpu: 100m, memory: 32Mi}}", requests: true,
			want: []string{"cpu limit 100m is below its request 200m", "memory limit 32Mi is below its request 64Mi"}},
		{name: "requests only, limits not wanted", res: "{requests: {cpu: 50m, memory: 32Mi}}", requests: true},
		{name: "requests only, limits wanted", res: "{requests: {cpu: 50m, memory: 32Mi}}", requests: true, limits: true,
			want: []string{"no cpu limit", "no memory limit"}},
		{name: "zero request", res: "{requests: {cpu: '0', memory: 32Mi}}", requests: true, want: []string{"cpu request 0 is not positive"}},
		{name: "only cpu", res: "{requests: {cpu: 50m}}", requests: true, want: []string{"no memory request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := container(t, "{name: c, resources: "+tt.res+"}")
			assert.Equal(t, tt.want, ResourceProblems(c, tt.requests, tt.limits))
		})
	}
	assert.Equal(t, []string{"the container is missing"}, ResourceProblems(nil, true, true))
	c := container(t, "{name: c, resources: {requests: {memory: 32Mi, cpu: 50m}}}")
	assert.Equal(t, "requests cpu=50m memory=32Mi; limits none", DescribeResources(c))
	q, explicit, ok := Request(container(t, "{name: c, resources: {limits: {cpu: 1}}}"), corev1.ResourceCPU)
	assert.True(t, ok)
	assert.False(t, explicit)
	assert.Equal(t, "1", q.String())
}

func TestPathWithin(t *testing.T) {
	assert.True(t, PathWithin("/a/b", "/a/b"))
	assert.True(t, PathWithin("/a/b/c", "/a/b/"))
	assert.True(t, PathWithin("/a", "/"))
	assert.False(t, PathWithin("/a/bc", "/a/b"))
	assert.False(t, PathWithin("", "/a"))
	assert.False(t, PathWithin("/a", ""))
}

func TestHasContainerPort(t *testing.T) {
	assert.True(t, HasContainerPort(container(t, "{name: c, ports: [{containerPort: 80}]}"), 80))
	assert.True(t, HasContainerPort(container(t, "{name: c, ports: [{containerPort: 443}, {containerPort: 80, protocol: TCP}]}"), 80))
	assert.False(t, HasContainerPort(container(t, "{name: c, ports: [{containerPort: 80, protocol: UDP}]}"), 80))
	assert.False(t, HasContainerPort(container(t, "{name: c}"), 80))
	assert.False(t, HasContainerPort(nil, 80))
}
