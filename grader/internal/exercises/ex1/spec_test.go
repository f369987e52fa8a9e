package ex1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise/exercisetest"
)

// lab, edit, editAll and grade are this exercise's shorthands for the shared helpers in exercisetest.
func lab(t *testing.T) string { return exercisetest.Lab(t, &Definition) }

func edit(t *testing.T, s string, pairs ...string) string { return exercisetest.Edit(t, s, pairs...) }

func grade(t *testing.T, manifest string) map[string]check.Verdict {
	return exercisetest.Grade(t, &Definition, manifest, ".yaml")
}

// flowStyle is exercise 1 written differently: other document order, flow style, JSON quoting, other volume names
// and sidecar path, an extra container, volume and labels, and a subPath mount of the page.
const flowStyle = `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-content", "labels": {"x": "y"}},
 "data": {"index.html": "<h1>hi</h1>", "extra.css": "h1 {}"}}
---
apiVersion: "v1"
kind: "Pod"
metadata: {name: "web-with-sidecar", labels: {app: mine, tier: web}}
spec:
  volumes:
  - {name: page, configMap: {name: web-content}}
  - {name: logs}
  - {name: scratch, emptyDir: {medium: Memory}}
  containers:
  - name: "log-sidecar"
    image: "docker.io/library/busybox:1.35"
    command: ["sh", "-c", "tail -F /logs/access.log | while IFS= read -r l; do echo \"[PROCESSED] $(date '+%Y-%m-%d %H:%M:%S') - $l\"; done"]
    volumeMounts: [{name: logs, mountPath: /logs, readOnly: true}]
    resources: {limits: {cpu: 50m, memory: 32Mi}}
  - name: "web-app"
    image: "nginx:1.24-alpine"
    ports: [{containerPort: 80, name: http, protocol: TCP}]
    volumeMounts:
    - {name: logs, mountPath: /var/log/nginx/}
    - {name: page, mountPath: /usr/share/nginx/html/index.html, subPath: index.html}
    - {name: scratch, mountPath: /tmp}
    resources: {requests: {cpu: "0.05", memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
  - name: metrics
    image: busybox:1.35
    command: [sleep, infinity]
`

func TestStatic(t *testing.T) {
	base := lab(t)
	tests := []struct {
		name   string
		yaml   string
		failed map[string]string // check ID -> a substring of its message or hint; every other check passes
	}{
		{name: "the lab's manifest", yaml: base},
		{name: "written differently", yaml: flowStyle},
		{name: "native sidecar", yaml: edit(t, base,
			"  containers:\n  # Main application container\n", "  initContainers:\n  - name: log-sidecar\n    restartPolicy: Always\n    image: busybox:1.35\n    volumeMounts: [{name: shared-logs, mountPath: /in}]\n    resources: {limits: {cpu: 50m, memory: 32Mi}}\n  containers:\n",
			"  - name: log-sidecar\n", "  - name: old-sidecar\n")},
		{name: "items mapping of the page", yaml: edit(t, base,
			"    configMap:\n      name: web-content\n", "    configMap:\n      name: web-content\n      items: [{key: index.html, path: index.html}]\n")},
		{name: "Pod missing", yaml: edit(t, base, "  name: web-with-sidecar\n", "  name: web\n"), failed: map[string]string{
			"ex1.manifest":       "no Pod `web-with-sidecar`",
			"ex1.containers":     "the Pod `web-with-sidecar` is missing; the file declares Pod/web, ConfigMap/web-content",
			"ex1.shared-volume":  "the Pod `web-with-sidecar` is missing",
			"ex1.content-volume": "the Pod `web-with-sidecar` is missing",
			"ex1.resources":      "the Pod `web-with-sidecar` is missing",
		}},
		{name: "ConfigMap missing", yaml: strings.SplitN(base, "---\n", 2)[0], failed: map[string]string{
			"ex1.manifest": "no ConfigMap `web-content`",
		}},
		{name: "ConfigMap key renamed", yaml: edit(t, base, "  index.html: |", "  home.html: |"), failed: map[string]string{
			"ex1.manifest": "the ConfigMap `web-content` has no key `index.html` (its keys: `home.html`)",
		}},
		{name: "nginx from docker.io", yaml: edit(t, base, "image: nginx:1.24-alpine", "image: docker.io/library/nginx:1.24-alpine")},
		{name: "another nginx", yaml: edit(t, base, "image: nginx:1.24-alpine", "image: nginx:latest"), failed: map[string]string{
			"ex1.containers": "`web-app` runs `nginx:latest`",
		}},
		{name: "another busybox", yaml: edit(t, base, "image: busybox:1.35", "image: busybox"), failed: map[string]string{
			"ex1.containers": "use the image `busybox:1.35` for `log-sidecar`",
		}},
		{name: "no port 80", yaml: edit(t, base, "- containerPort: 80", "- containerPort: 8080"), failed: map[string]string{
			"ex1.containers": "`web-app` declares no TCP containerPort 80 (ports 8080/TCP)",
		}},
		{name: "sidecar renamed", yaml: edit(t, base, "- name: log-sidecar", "- name: sidecar"), failed: map[string]string{
			"ex1.containers":    "no container `log-sidecar` (the Pod has containers web-app, sidecar)",
			"ex1.shared-volume": "no container `log-sidecar`",
			"ex1.resources":     "no container `log-sidecar`",
		}},
		{name: "logs mounted above nginx's directory", yaml: edit(t, base, "      mountPath: /var/log/nginx\n", "      mountPath: /var/log\n"), failed: map[string]string{
			"ex1.shared-volume": "mount the shared emptyDir at /var/log/nginx in `web-app`",
		}},
		{name: "sidecar without the log volume", yaml: edit(t, base, "    - name: shared-logs\n      mountPath: /shared-logs\n", ""), failed: map[string]string{
			"ex1.shared-volume": "emptyDir `shared-logs` is mounted in web-app at /var/log/nginx, not mounted in log-sidecar",
		}},
		{name: "logs read-only for nginx", yaml: edit(t, base, "      mountPath: /var/log/nginx\n", "      mountPath: /var/log/nginx\n      readOnly: true\n"), failed: map[string]string{
			"ex1.shared-volume": "drop `readOnly` from `web-app`'s mount of `shared-logs`",
		}},
		{name: "logs in a ConfigMap instead of an emptyDir", yaml: edit(t, base, "    emptyDir: {}\n", "    configMap: {name: web-content}\n"), failed: map[string]string{
			"ex1.shared-volume": "no emptyDir volume",
		}},
		{name: "mount of a missing volume", yaml: edit(t, base, "      mountPath: /shared-logs\n", "      mountPath: /shared-logs\n    - name: ghost\n      mountPath: /ghost\n",
			"  - name: shared-logs\n    emptyDir: {}\n", ""), failed: map[string]string{
			"ex1.shared-volume": "`log-sidecar` mounts `ghost`, which is not a volume of the Pod",
		}},
		{name: "page mounted elsewhere", yaml: edit(t, base, "      mountPath: /usr/share/nginx/html\n", "      mountPath: /usr/share/nginx\n"), failed: map[string]string{
			"ex1.content-volume": "the ConfigMap's volume `web-content` is mounted in web-app at /usr/share/nginx",
		}},
		{name: "page from another ConfigMap", yaml: edit(t, base, "    configMap:\n      name: web-content\n", "    configMap:\n      name: other\n"), failed: map[string]string{
			"ex1.content-volume": "/usr/share/nginx/html/index.html in `web-app` is the key `index.html` of the ConfigMap `other`",
		}},
		{name: "page not mounted", yaml: edit(t, base, "    - name: web-content\n      mountPath: /usr/share/nginx/html\n", ""), failed: map[string]string{
			"ex1.content-volume": "nothing is mounted at or above /usr/share/nginx/html/index.html in `web-app`",
		}},
		{name: "no limits on the sidecar", yaml: edit(t, base, "      limits:\n        memory: \"32Mi\"\n        cpu: \"50m\"\n", ""), failed: map[string]string{
			"ex1.resources": "`log-sidecar` has no cpu limit, no memory limit",
		}},
		{name: "limit below request", yaml: edit(t, base, "        memory: \"64Mi\"\n", "        memory: \"16Mi\"\n"), failed: map[string]string{
			"ex1.resources": "memory limit 16Mi is below its request 32Mi",
		}},
		{name: "limits only", yaml: edit(t, base, "      requests:\n        memory: \"32Mi\"\n        cpu: \"50m\"\n", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exercisetest.AssertStatic(t, &Definition, grade(t, tt.yaml), tt.failed)
		})
	}
}

func TestPassMessages(t *testing.T) {
	got := grade(t, lab(t))
	assert.Equal(t, "emptyDir `shared-logs` is mounted at /var/log/nginx in `web-app` and at /shared-logs in `log-sidecar`", got["ex1.shared-volume"].Message)
	assert.Equal(t, "/usr/share/nginx/html/index.html in `web-app` is the key `index.html` of the ConfigMap `web-content` (volume `web-content` at /usr/share/nginx/html)", got["ex1.content-volume"].Message)
}
