package submission

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goodPod is a pod the policy allows: the lab's shape plus every harmless option a student might add.
const goodPod = `apiVersion: v1
kind: Pod
metadata:
  name: web-with-sidecar
  labels: {app: demo}
spec:
  automountServiceAccountToken: false
  serviceAccountName: default
  securityContext: {runAsNonRoot: false}
  initContainers:
  - name: init
    image: busybox:1.35
    command: [sh, -c, "true"]
  containers:
  - name: web-app
    image: nginx:1.24-alpine
    ports: [{containerPort: 80}]
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: logs, mountPath: /var/log/nginx}]
  volumes:
  - name: logs
    emptyDir: {}
  - name: content
    configMap: {name: web-content}
  - name: secret
    secret: {secretName: s}
  - name: claim
    persistentVolumeClaim: {claimName: log-storage}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
  - name: mixed
    projected: {sources: [{configMap: {name: web-content}}, {secret: {name: s}}]}
`

// podWith returns goodPod with old replaced by new (which must occur).
func podWith(t *testing.T, old, new string) string {
	t.Helper()
	require.Contains(t, goodPod, old)
	return strings.Replace(goodPod, old, new, 1)
}

func TestViolations(t *testing.T) {
	const web = "spec.containers[0] (web-app)."
	tests := []struct {
		name string
		yaml string
		want []string // substrings, one per expected violation, in order
	}{
		{name: "the allowed kinds and options", yaml: goodPod + `---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-content}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: log-storage}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: demo}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
type: Opaque
stringData: {token: x}
`},
		{name: "a namespace is not a violation", yaml: podWith(t, "  name: web-with-sidecar\n", "  name: web-with-sidecar\n  namespace: kube-system\n")},
		{name: "Namespace", yaml: "apiVersion: v1\nkind: Namespace\nmetadata: {name: mine}\n",
			want: []string{"kind Namespace (apiVersion v1) is not allowed: a submission may declare only v1 Pod, ConfigMap, PersistentVolumeClaim, Service, Secret"}},
		{name: "ClusterRoleBinding", yaml: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin}\n",
			want: []string{"kind ClusterRoleBinding (apiVersion rbac.authorization.k8s.io/v1) is not allowed"}},
		{name: "Role", yaml: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n",
			want: []string{"kind Role"}},
		{name: "Deployment", yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: []string{"kind Deployment (apiVersion apps/v1) is not allowed"}},
		{name: "PersistentVolume", yaml: "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\n",
			want: []string{"kind PersistentVolume (apiVersion v1) is not allowed"}},
		{name: "Pod of another apiVersion", yaml: strings.Replace(goodPod, "apiVersion: v1", "apiVersion: v2", 1),
			want: []string{"kind Pod (apiVersion v2) is not allowed"}},
		{name: "privileged", yaml: podWith(t, "privileged: false", "privileged: true"),
			want: []string{web + "securityContext.privileged is true"}},
		{name: "privileged init container", yaml: podWith(t, "    command: [sh, -c, \"true\"]\n", "    command: [sh, -c, \"true\"]\n    securityContext: {privileged: true}\n"),
			want: []string{"spec.initContainers[0] (init).securityContext.privileged is true"}},
		{name: "privileged ephemeral container", yaml: podWith(t, "  volumes:\n", "  ephemeralContainers:\n  - name: debug\n    image: busybox:1.35\n    securityContext: {privileged: true, capabilities: {add: [SYS_PTRACE]}}\n  volumes:\n"),
			want: []string{"spec.ephemeralContainers[0] (debug).securityContext.privileged is true",
				"spec.ephemeralContainers[0] (debug).securityContext.capabilities.add is SYS_PTRACE"}},
		{name: "hostNetwork", yaml: podWith(t, "  automountServiceAccountToken: false\n", "  automountServiceAccountToken: false\n  hostNetwork: true\n"),
			want: []string{"spec.hostNetwork is true"}},
		{name: "hostPID and hostIPC", yaml: podWith(t, "  automountServiceAccountToken: false\n", "  automountServiceAccountToken: false\n  hostPID: true\n  hostIPC: true\n"),
			want: []string{"spec.hostPID is true", "spec.hostIPC is true"}},
		{name: "hostNetwork false is fine", yaml: podWith(t, "  automountServiceAccountToken: false\n", "  automountServiceAccountToken: false\n  hostNetwork: false\n")},
		{name: "hostPath volume", yaml: podWith(t, "    emptyDir: {}\n", "    hostPath: {path: /var/log}\n"),
			want: []string{"spec.volumes[0] (logs).hostPath mounts a directory of the node"}},
		{name: "nfs volume", yaml: podWith(t, "    emptyDir: {}\n", "    nfs: {server: 10.0.0.1, path: /}\n"),
			want: []string{"spec.volumes[0] (logs).nfs is not an allowed volume type"}},
		{name: "projected service account token", yaml: podWith(t, "{secret: {name: s}}", "{serviceAccountToken: {path: token}}"),
			want: []string{"spec.volumes[5] (mixed).projected.sources[1].serviceAccountToken is not allowed"}},
		{name: "added capabilities", yaml: podWith(t, "capabilities: {drop: [ALL]}", "capabilities: {add: [NET_ADMIN, SYS_ADMIN]}"),
			want: []string{web + "securityContext.capabilities.add is NET_ADMIN, SYS_ADMIN"}},
		{name: "hostPort", yaml: podWith(t, "ports: [{containerPort: 80}]", "ports: [{containerPort: 80, hostPort: 8080}]"),
			want: []string{web + "ports[0].hostPort is 8080"}},
		{name: "procMount Unmasked", yaml: podWith(t, "privileged: false", "privileged: false\n      procMount: Unmasked"),
			want: []string{web + "securityContext.procMount is Unmasked"}},
		{name: "seccomp and AppArmor unconfined", yaml: podWith(t, "privileged: false", "privileged: false\n      seccompProfile: {type: Unconfined}\n      appArmorProfile: {type: Unconfined}"),
			want: []string{web + "securityContext.seccompProfile.type is Unconfined", web + "securityContext.appArmorProfile.type is Unconfined"}},
		{name: "pod-level seccomp unconfined", yaml: podWith(t, "securityContext: {runAsNonRoot: false}", "securityContext: {seccompProfile: {type: Unconfined}}"),
			want: []string{"spec.securityContext.seccompProfile.type is Unconfined"}},
		{name: "RuntimeDefault seccomp is fine", yaml: podWith(t, "securityContext: {runAsNonRoot: false}", "securityContext: {seccompProfile: {type: RuntimeDefault}}")},
		{name: "automountServiceAccountToken true", yaml: podWith(t, "automountServiceAccountToken: false", "automountServiceAccountToken: true"),
			want: []string{"spec.automountServiceAccountToken is true"}},
		{name: "another service account", yaml: podWith(t, "serviceAccountName: default", "serviceAccountName: admin"),
			want: []string{`spec.serviceAccountName is "admin"`}},
		{name: "deprecated serviceAccount", yaml: podWith(t, "serviceAccountName: default", "serviceAccount: builder"),
			want: []string{`spec.serviceAccount is "builder"`}},
		{name: "finalizers", yaml: podWith(t, "  labels: {app: demo}\n", "  labels: {app: demo}\n  finalizers: [example.com/block]\n"),
			want: []string{"metadata.finalizers is set"}},
		{name: "NodePort service", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80}]}\n",
			want: []string{"spec.type is NodePort"}},
		{name: "LoadBalancer service with externalIPs", yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: LoadBalancer, externalIPs: [1.2.3.4], ports: [{port: 80}]}\n",
			want: []string{"spec.type is LoadBalancer", "spec.externalIPs is set"}},
		{name: "service account token secret", yaml: "apiVersion: v1\nkind: Secret\nmetadata: {name: t, annotations: {kubernetes.io/service-account.name: default}}\ntype: kubernetes.io/service-account-token\n",
			want: []string{"type is kubernetes.io/service-account-token"}},
		{name: "claim binding a chosen volume", yaml: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: log-storage}\nspec: {volumeName: someone-elses, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
			want: []string{`spec.volumeName is "someone-elses"`}},
		{name: "everything at once", yaml: podWith(t, "privileged: false", "privileged: true") + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
			want: []string{"document 1 (Pod web-with-sidecar): " + web + "securityContext.privileged", "document 2 (Namespace x): kind Namespace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse([]byte(tt.yaml), DefaultLimits)
			require.NoError(t, err)
			f := &File{Exercise: "basic-sidecar", Path: "/sub/basic-sidecar.yaml", Objects: objs}
			got := f.Violations()
			require.Len(t, got, len(tt.want), "violations: %q", got)
			for i, w := range tt.want {
				assert.Contains(t, got[i], w)
				assert.True(t, strings.HasPrefix(got[i], "basic-sidecar.yaml, document "), "the message names the file and the document: %q", got[i])
			}
		})
	}
}

func TestViolationMessage(t *testing.T) {
	objs, err := Parse([]byte(configMapYAML+"---\n"+podWith(t, "privileged: false", "privileged: true")), DefaultLimits)
	require.NoError(t, err)
	f := &File{Exercise: "basic-sidecar", Path: "/sub/basic-sidecar.yml", Objects: objs}
	assert.Equal(t, []string{"basic-sidecar.yml, document 2 (Pod web-with-sidecar): spec.containers[0] (web-app).securityContext.privileged is true: privileged containers are not allowed; remove it"},
		f.Violations())
}

func TestViolationsOfUnloadedFile(t *testing.T) {
	assert.Empty(t, (&File{Exercise: "basic-sidecar", Err: assert.AnError}).Violations(), "a file that did not parse has no objects")
	assert.Empty(t, (*File)(nil).Violations())
	assert.Empty(t, (&File{Exercise: "basic-sidecar", Objects: []*Object{nil}}).Violations())
}

func TestNamespaceOverrides(t *testing.T) {
	objs, err := Parse([]byte(podWith(t, "  name: web-with-sidecar\n", "  name: web-with-sidecar\n  namespace: production\n")+"---\n"+configMapYAML), DefaultLimits)
	require.NoError(t, err)
	f := &File{Exercise: "basic-sidecar", Path: "/sub/basic-sidecar.yaml", Objects: objs}
	assert.Empty(t, f.Violations())
	assert.Equal(t, []string{`basic-sidecar.yaml, document 1 (Pod web-with-sidecar): metadata.namespace "production" is ignored; ` +
		"the grader applies every object in the submission's own namespace"}, f.NamespaceOverrides())
	assert.Empty(t, (&File{Err: assert.AnError}).NamespaceOverrides())
	assert.Empty(t, (*File)(nil).NamespaceOverrides())
}
