package submission

// The security policy (RUBRIC.md, Security): what a submission may declare. It is checked on the parsed objects
// before anything is applied; each message names the file, the document, the object and the field.

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// AllowedKinds are the kinds (all apiVersion v1, all namespaced) a submission may declare: the three the lab needs
// and two harmless extras.
var AllowedKinds = []string{"Pod", "ConfigMap", "PersistentVolumeClaim", "Service", "Secret"}

// allowedVolumeSources are the pod volume sources a submission may use; everything else (hostPath, network and
// cloud disks, CSI, image volumes, ...) reaches beyond the submission's namespace or the node's sandbox.
var allowedVolumeSources = map[string]bool{
	"emptyDir": true, "configMap": true, "secret": true, "persistentVolumeClaim": true, "downwardAPI": true,
	"projected": true, "ephemeral": true,
}

// allowedProjections are the projected-volume sources a submission may use (no service account tokens or
// certificates: the grader runs pods without credentials).
var allowedProjections = map[string]bool{"configMap": true, "secret": true, "downwardAPI": true, "clusterTrustBundle": true}

// PolicyError is why Load refuses a file that parsed: the objects or fields the security policy does not allow.
// Nothing of a refused file is applied.
type PolicyError struct {
	File       string   // the file's name, "basic-sidecar.yaml"
	Violations []string // one message per violation: "document 3 (Namespace x): kind Namespace ... is not allowed"
}

// Error lists the violations after the file's name.
func (e *PolicyError) Error() string {
	return fmt.Sprintf("%s is refused, so nothing of it is applied: %s", e.File, strings.Join(e.Violations, "; "))
}

// Violations returns one message per breach of the security policy, in file order, each naming the file, the
// document, the object and the field; empty when the file may be applied. Load refuses a file with violations (its
// Err is then a *PolicyError), so a grader normally reads them there. A metadata.namespace is not a violation (see
// NamespaceOverrides).
func (f *File) Violations() []string {
	var out []string
	for _, v := range f.objectViolations() {
		out = append(out, f.Name()+", "+v)
	}
	return out
}

// objectViolations is Violations without the file's name.
func (f *File) objectViolations() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, o := range f.Objects {
		if o == nil {
			continue
		}
		for _, v := range o.Violations() {
			out = append(out, o.Where()+": "+v)
		}
	}
	return out
}

// NamespaceOverrides returns one message per object that sets metadata.namespace, which the grader ignores (it
// applies every object in the submission's own namespace), so that the report can say so.
func (f *File) NamespaceOverrides() []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, o := range f.Objects {
		if o != nil && o.Namespace != "" {
			out = append(out, fmt.Sprintf("%s, %s: metadata.namespace %q is ignored; the grader applies every object in "+
				"the submission's own namespace", f.Name(), o.Where(), o.Namespace))
		}
	}
	return out
}

// Violations returns the policy breaches of one object, each naming the field ("spec.hostNetwork is true: ...").
func (o *Object) Violations() []string {
	apiVersion := ""
	if o.Raw != nil {
		apiVersion = o.Raw.GetAPIVersion()
	}
	if apiVersion != "v1" || !isAllowedKind(o.Kind) {
		return []string{fmt.Sprintf("kind %s (apiVersion %s) is not allowed: a submission may declare only v1 %s",
			o.Kind, apiVersion, strings.Join(AllowedKinds, ", "))}
	}
	var out []string
	if o.Raw != nil && len(o.Raw.GetFinalizers()) > 0 {
		out = append(out, "metadata.finalizers is set: finalizers keep objects (and the grading namespace) from being deleted; remove them")
	}
	switch {
	case o.Pod != nil:
		out = append(out, podViolations(&o.Pod.Spec)...)
	case o.Service != nil:
		s := &o.Service.Spec
		if s.Type != "" && s.Type != corev1.ServiceTypeClusterIP {
			out = append(out, fmt.Sprintf("spec.type is %s: only ClusterIP services are allowed (others open ports on the node or point outside the cluster)", s.Type))
		}
		if len(s.ExternalIPs) > 0 {
			out = append(out, "spec.externalIPs is set: a service may not claim external addresses")
		}
	case o.Secret != nil:
		if o.Secret.Type == corev1.SecretTypeServiceAccountToken {
			out = append(out, "type is kubernetes.io/service-account-token: a submission may not mint service account tokens")
		}
	case o.PVC != nil:
		if o.PVC.Spec.VolumeName != "" {
			out = append(out, fmt.Sprintf("spec.volumeName is %q: a claim may not bind a chosen PersistentVolume; leave it out and let the cluster provision one", o.PVC.Spec.VolumeName))
		}
	}
	return out
}

func isAllowedKind(k string) bool {
	for _, a := range AllowedKinds {
		if a == k {
			return true
		}
	}
	return false
}

// podViolations checks a pod spec: host namespaces, service accounts, volumes, and every container's privileges.
func podViolations(spec *corev1.PodSpec) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if spec.HostNetwork {
		add("spec.hostNetwork is true: pods may not use the node's network; remove it")
	}
	if spec.HostPID {
		add("spec.hostPID is true: pods may not see the node's processes; remove it")
	}
	if spec.HostIPC {
		add("spec.hostIPC is true: pods may not share the node's IPC namespace; remove it")
	}
	if spec.AutomountServiceAccountToken != nil && *spec.AutomountServiceAccountToken {
		add("spec.automountServiceAccountToken is true: the grader runs pods without API credentials; remove it")
	}
	for _, sa := range [][2]string{{"serviceAccountName", spec.ServiceAccountName}, {"serviceAccount", spec.DeprecatedServiceAccount}} {
		if sa[1] != "" && sa[1] != "default" {
			add("spec.%s is %q: pods run as the namespace's default service account; remove it", sa[0], sa[1])
		}
	}
	if psc := spec.SecurityContext; psc != nil {
		if psc.WindowsOptions != nil && psc.WindowsOptions.HostProcess != nil && *psc.WindowsOptions.HostProcess {
			add("spec.securityContext.windowsOptions.hostProcess is true: host processes are not allowed")
		}
		if psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			add("spec.securityContext.seccompProfile.type is Unconfined: containers keep the runtime's seccomp profile; remove it")
		}
		if psc.AppArmorProfile != nil && psc.AppArmorProfile.Type == corev1.AppArmorProfileTypeUnconfined {
			add("spec.securityContext.appArmorProfile.type is Unconfined: containers keep the runtime's AppArmor profile; remove it")
		}
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		where := fmt.Sprintf("spec.volumes[%d] (%s)", i, v.Name)
		for _, k := range volumeSources(v.VolumeSource) {
			switch {
			case k == "hostPath":
				add("%s.hostPath mounts a directory of the node: use an emptyDir, a ConfigMap or a PersistentVolumeClaim", where)
			case !allowedVolumeSources[k]:
				add("%s.%s is not an allowed volume type (allowed: emptyDir, configMap, secret, persistentVolumeClaim, downwardAPI, projected, ephemeral)", where, k)
			}
		}
		if v.Projected != nil {
			for j, s := range v.Projected.Sources {
				for _, k := range structPointers(reflect.ValueOf(s)) {
					if !allowedProjections[k] {
						add("%s.projected.sources[%d].%s is not allowed: pods run without service account tokens or certificates", where, j, k)
					}
				}
			}
		}
	}
	for _, c := range allContainers(spec) {
		out = append(out, containerViolations(c)...)
	}
	return out
}

// containerRef is one container of any of a pod's three lists, with its field path for messages.
type containerRef struct {
	where string // "spec.containers[0] (web-app)"
	sc    *corev1.SecurityContext
	ports []corev1.ContainerPort
}

func allContainers(spec *corev1.PodSpec) []containerRef {
	var out []containerRef
	for i, c := range spec.InitContainers {
		out = append(out, containerRef{fmt.Sprintf("spec.initContainers[%d] (%s)", i, c.Name), c.SecurityContext, c.Ports})
	}
	for i, c := range spec.Containers {
		out = append(out, containerRef{fmt.Sprintf("spec.containers[%d] (%s)", i, c.Name), c.SecurityContext, c.Ports})
	}
	for i, c := range spec.EphemeralContainers {
		out = append(out, containerRef{fmt.Sprintf("spec.ephemeralContainers[%d] (%s)", i, c.Name), c.SecurityContext, c.Ports})
	}
	return out
}

func containerViolations(c containerRef) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, c.where+"."+fmt.Sprintf(format, a...)) }
	if sc := c.sc; sc != nil {
		if sc.Privileged != nil && *sc.Privileged {
			add("securityContext.privileged is true: privileged containers are not allowed; remove it")
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			caps := make([]string, len(sc.Capabilities.Add))
			for i, k := range sc.Capabilities.Add {
				caps[i] = string(k)
			}
			add("securityContext.capabilities.add is %s: containers may not add capabilities (dropping them is fine)", strings.Join(caps, ", "))
		}
		if sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
			add("securityContext.procMount is Unmasked: the node's /proc must stay masked")
		}
		if sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil && *sc.WindowsOptions.HostProcess {
			add("securityContext.windowsOptions.hostProcess is true: host processes are not allowed")
		}
		if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			add("securityContext.seccompProfile.type is Unconfined: containers keep the runtime's seccomp profile; remove it")
		}
		if sc.AppArmorProfile != nil && sc.AppArmorProfile.Type == corev1.AppArmorProfileTypeUnconfined {
			add("securityContext.appArmorProfile.type is Unconfined: containers keep the runtime's AppArmor profile; remove it")
		}
	}
	for j, p := range c.ports {
		if p.HostPort != 0 {
			add("ports[%d].hostPort is %d: pods may not bind the node's ports; keep containerPort only", j, p.HostPort)
		}
	}
	return out
}

// volumeSources returns the JSON names of the sources a volume sets.
func volumeSources(vs corev1.VolumeSource) []string {
	return structPointers(reflect.ValueOf(vs))
}

// structPointers returns the JSON names of the non-nil pointer fields of struct value rv, sorted.
func structPointers(rv reflect.Value) []string {
	var out []string
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = rt.Field(i).Name
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
