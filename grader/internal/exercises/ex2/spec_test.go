package ex2

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise/exercisetest"
)

// lab, edit, editAll and grade are this exercise's shorthands for the shared helpers in exercisetest.
func lab(t *testing.T) string { return exercisetest.Lab(t, &Definition) }

func edit(t *testing.T, s string, pairs ...string) string { return exercisetest.Edit(t, s, pairs...) }

func grade(t *testing.T, manifest string) map[string]check.Verdict {
	return exercisetest.Grade(t, &Definition, manifest, ".yml")
}

const (
	processorMount = "    - name: log-processor-config\n      mountPath: /scripts\n"
	processorCmd   = "    command:\n    - python\n    - /scripts/processor.py\n"
	processorVol   = "  - name: log-processor-config\n    configMap:\n      name: log-processor-config\n      defaultMode: 0755\n"
	nginxMount     = "    - name: nginx-config\n      mountPath: /etc/nginx/conf.d/default.conf\n      subPath: nginx.conf\n"
	nginxVol       = "  - name: nginx-config\n    configMap:\n      name: nginx-custom-config\n"
)

func TestStatic(t *testing.T) {
	base := lab(t)
	tests := []struct {
		name   string
		yaml   string
		failed map[string]string // check ID -> a substring of its message or hint; every other check passes
	}{
		{name: "the lab's manifest", yaml: base},
		{name: "documents in another order", yaml: func() string {
			d := strings.Split(base, "---\n")
			require.Len(t, d, 3)
			return d[2] + "---\n" + d[1] + "---\n" + d[0]
		}()},
		{name: "nginx.conf through items", yaml: edit(t, base,
			nginxMount, "    - name: nginx-config\n      mountPath: /etc/nginx/conf.d\n",
			nginxVol, nginxVol+"      items: [{key: nginx.conf, path: default.conf}]\n")},
		{name: "nginx.conf without subPath", yaml: edit(t, base, nginxMount, "    - name: nginx-config\n      mountPath: /etc/nginx/conf.d/default.conf\n"), failed: map[string]string{
			"ex2.volumes": "the volume `nginx-config` is mounted at /etc/nginx/conf.d/default.conf itself without subPath, which makes /etc/nginx/conf.d/default.conf a directory",
		}},
		{name: "nginx.conf from another key", yaml: edit(t, base, "      subPath: nginx.conf\n", "      subPath: other.conf\n"), failed: map[string]string{
			"ex2.volumes": "/etc/nginx/conf.d/default.conf in `web-app` is the key `other.conf` of the ConfigMap `nginx-custom-config`",
		}},
		{name: "python3 -u and items", yaml: edit(t, base,
			processorCmd, "    command: [python3, -u, /app/p.py]\n",
			processorMount, "    - name: log-processor-config\n      mountPath: /app\n",
			processorVol, "  - name: log-processor-config\n    configMap:\n      name: log-processor-config\n      items: [{key: processor.py, path: p.py}]\n")},
		{name: "sh -c exec python", yaml: edit(t, base,
			processorCmd, "    command: [sh, -c, \"exec python /x/processor.py\"]\n",
			processorMount, "    - name: log-processor-config\n      mountPath: /x\n")},
		{name: "subPath script", yaml: edit(t, base,
			processorCmd, "    args: [python, /opt/run.py]\n",
			processorMount, "    - name: log-processor-config\n      mountPath: /opt/run.py\n      subPath: processor.py\n")},
		{name: "workingDir and a relative script", yaml: edit(t, base,
			processorCmd, "    workingDir: /scripts\n    command: [python, processor.py]\n")},
		{name: "executed directly with a 0755 mode and a #! line", yaml: edit(t, base,
			processorCmd, "    command: [/scripts/processor.py]\n",
			"  processor.py: |\n", "  processor.py: |\n    #!/usr/bin/env python3\n")},
		{name: "executed directly without a #! line", yaml: edit(t, base, processorCmd, "    command: [/scripts/processor.py]\n"), failed: map[string]string{
			"ex2.volumes": "`log-processor` executes /scripts/processor.py directly, but the script has no #! line",
		}},
		{name: "executed directly, not executable", yaml: edit(t, base,
			processorCmd, "    command: [/scripts/processor.py]\n",
			"      defaultMode: 0755\n", ""), failed: map[string]string{
			"ex2.volumes": "its mode is 0644 (not executable)",
		}},
		{name: "script mounted elsewhere", yaml: edit(t, base, processorMount, "    - name: log-processor-config\n      mountPath: /config\n"), failed: map[string]string{
			"ex2.volumes": "`log-processor` runs /scripts/processor.py, but nothing is mounted at or above /scripts/processor.py in `log-processor`",
		}},
		{name: "script not from the ConfigMap", yaml: edit(t, base, processorCmd, "    command: [python, -c, \"print('hi')\"]\n"), failed: map[string]string{
			"ex2.volumes": "`log-processor` runs `python -c print('hi')`, which names no .py file",
		}},
		{name: "forwarder without the log volume", yaml: edit(t, base,
			"      done\n    volumeMounts:\n    - name: shared-logs\n      mountPath: /shared-logs\n", "      done\n"), failed: map[string]string{
			"ex2.volumes": "emptyDir `shared-logs` is mounted in web-app at /var/log/nginx, log-processor at /shared-logs, not mounted in log-forwarder",
		}},
		{name: "processor image", yaml: edit(t, base, "image: python:3.11-alpine", "image: python:3.12-alpine"), failed: map[string]string{
			"ex2.containers": "`log-processor` runs `python:3.12-alpine`",
		}},
		{name: "forwarder renamed", yaml: edit(t, base, "- name: log-forwarder", "- name: forwarder"), failed: map[string]string{
			"ex2.containers": "no container `log-forwarder`",
			"ex2.volumes":    "no container `log-forwarder` in the Pod `advanced-sidecar-demo` (it has containers web-app, log-processor, forwarder)",
			"ex2.resources":  "no container `log-forwarder`",
		}},
		{name: "nginx ConfigMap missing", yaml: strings.Join(strings.Split(base, "---\n")[:2], "---\n"), failed: map[string]string{
			"ex2.manifest": "no ConfigMap `nginx-custom-config`",
		}},
		{name: "processor key renamed", yaml: edit(t, base, "  processor.py: |\n", "  main.py: |\n"), failed: map[string]string{
			"ex2.manifest": "the ConfigMap `log-processor-config` has no key `processor.py` (its keys: `main.py`)",
		}},
		{name: "no limits on the processor", yaml: edit(t, base, "      limits:\n        memory: \"128Mi\"\n        cpu: \"200m\"\n", ""), failed: map[string]string{
			"ex2.resources": "`log-processor` has no cpu limit, no memory limit",
		}},
		{name: "no requests on the forwarder", yaml: edit(t, base, "    resources:\n      requests:\n        memory: \"16Mi\"\n        cpu: \"25m\"\n", ""), failed: map[string]string{
			"ex2.resources": "`log-forwarder` has no cpu request, no memory request",
		}},
		{name: "an extra container without requests", yaml: edit(t, base, "  volumes:\n", "  - name: extra\n    image: busybox:1.35\n  volumes:\n"), failed: map[string]string{
			"ex2.resources": "`extra` has no cpu request, no memory request",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exercisetest.AssertStatic(t, &Definition, grade(t, tt.yaml), tt.failed)
		})
	}
}

func TestPassMessages(t *testing.T) {
	got := grade(t, lab(t))
	assert.Equal(t, "emptyDir `shared-logs` is mounted at /var/log/nginx in `web-app` and at /shared-logs in `log-processor`, "+
		"at /shared-logs in `log-forwarder`; /etc/nginx/conf.d/default.conf is the key `nginx.conf` of `nginx-custom-config`; "+
		"`log-processor` runs /scripts/processor.py, the key `processor.py` of `log-processor-config` (volume `log-processor-config`)",
		got["ex2.volumes"].Message)
}
