package ex3

import (
	"strings"
	"testing"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise/exercisetest"
)

// lab, edit, editAll and grade are this exercise's shorthands for the shared helpers in exercisetest.
func lab(t *testing.T) string { return exercisetest.Lab(t, &Definition) }

func edit(t *testing.T, s string, pairs ...string) string { return exercisetest.Edit(t, s, pairs...) }

func grade(t *testing.T, manifest string) map[string]check.Verdict {
	return exercisetest.Grade(t, &Definition, manifest, ".yaml")
}

func editAll(t *testing.T, s, old, new string) string { return exercisetest.EditAll(t, s, old, new) }

func TestStatic(t *testing.T) {
	base := lab(t)
	tests := []struct {
		name   string
		yaml   string
		failed map[string]string // check ID -> a substring of its message or hint; every other check passes
	}{
		{name: "the lab's manifest", yaml: base},
		{name: "1024Mi is 1Gi", yaml: edit(t, base, "storage: 1Gi", "storage: 1024Mi")},
		{name: "other paths, used consistently", yaml: editAll(t, editAll(t, base, "/app-logs", "/var/app/logs"), "name: app-logs", "name: logs")},
		{name: "log path built from a variable", yaml: edit(t, editAll(t, base, "      mountPath: /app-logs\n", "      mountPath: /data\n"),
			"filename='/app-logs/application.log'", "filename=f'{LOG_DIR}/application.log'"), failed: map[string]string{
			// The aggregator still names /app-logs/application.log, which is no longer in the shared volume.
			"ex3.volumes": "`log-aggregator`'s command names /app-logs/application.log",
		}},
		{name: "the app writes outside the shared volume", yaml: edit(t, base, "      mountPath: /app-logs\n", "      mountPath: /logs\n"), failed: map[string]string{
			"ex3.volumes": "`app`'s command names /app-logs/application.log (app-logs at /logs (emptyDir))",
		}},
		{name: "1G is not 1Gi", yaml: edit(t, base, "storage: 1Gi", "storage: 1G"), failed: map[string]string{
			"ex3.manifest": "the claim `log-storage` requests 1G (1000000000 bytes), not 1Gi (1073741824 bytes)",
		}},
		{name: "2Gi", yaml: edit(t, base, "storage: 1Gi", "storage: 2Gi"), failed: map[string]string{
			"ex3.manifest": "requests 2Gi",
		}},
		{name: "ReadWriteMany", yaml: edit(t, base, "    - ReadWriteOnce\n", "    - ReadWriteMany\n"), failed: map[string]string{
			"ex3.manifest": "the claim `log-storage` has access modes ReadWriteMany",
		}},
		{name: "two access modes", yaml: edit(t, base, "    - ReadWriteOnce\n", "    - ReadWriteOnce\n    - ReadOnlyMany\n"), failed: map[string]string{
			"ex3.manifest": "access modes ReadWriteOnce, ReadOnlyMany",
		}},
		{name: "no storage request", yaml: edit(t, base, "  resources:\n    requests:\n      storage: 1Gi\n", ""), failed: map[string]string{
			"ex3.manifest": "the claim `log-storage` requests no storage",
		}},
		{name: "claim missing", yaml: strings.SplitN(base, "---\n", 2)[1], failed: map[string]string{
			"ex3.manifest": "no PersistentVolumeClaim `log-storage`",
		}},
		{name: "Pod missing", yaml: strings.SplitN(base, "---\n", 2)[0], failed: map[string]string{
			"ex3.manifest":   "no Pod `persistent-log-demo`",
			"ex3.containers": "the Pod `persistent-log-demo` is missing; the file declares PersistentVolumeClaim/log-storage",
			"ex3.volumes":    "the Pod `persistent-log-demo` is missing",
			"ex3.resources":  "the Pod `persistent-log-demo` is missing",
		}},
		{name: "claim mounted elsewhere", yaml: edit(t, base, "      mountPath: /persistent-logs\n", "      mountPath: /data\n"), failed: map[string]string{
			"ex3.volumes": "the claim's volume `persistent-logs` is mounted in log-aggregator at /data",
		}},
		{name: "claim read-only", yaml: edit(t, base, "      claimName: log-storage\n", "      claimName: log-storage\n      readOnly: true\n"), failed: map[string]string{
			"ex3.volumes": "the claim's volume `persistent-logs` is read-only in `log-aggregator`",
		}},
		{name: "another claim", yaml: edit(t, base, "      claimName: log-storage\n", "      claimName: logs\n"), failed: map[string]string{
			"ex3.volumes": "no volume uses the claim `log-storage`",
		}},
		{name: "app image", yaml: edit(t, base, "image: python:3.11-alpine", "image: python:3.11"), failed: map[string]string{
			"ex3.containers": "`app` runs `python:3.11`",
		}},
		{name: "no requests on the app", yaml: edit(t, base, "    resources:\n      requests:\n        memory: \"32Mi\"\n        cpu: \"50m\"\n", ""), failed: map[string]string{
			"ex3.resources": "`app` has no cpu request, no memory request",
		}},
		{name: "limit below request", yaml: edit(t, base, "        cpu: \"25m\"\n", "        cpu: \"25m\"\n      limits: {cpu: 10m}\n"), failed: map[string]string{
			"ex3.resources": "cpu limit 10m is below its request 25m",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exercisetest.AssertStatic(t, &Definition, grade(t, tt.yaml), tt.failed)
		})
	}
}
