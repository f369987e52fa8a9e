package exercise

// Pod-spec helpers shared by the static checks and the runtime scenarios. They read a *corev1.Pod as the API server
// would run it (a volume with no source is an emptyDir, a missing request defaults to its limit, a native sidecar is
// a long-running container) and never panic: a nil pod, missing containers or volumes give empty answers.

import (
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultFileMode is the mode Kubernetes gives ConfigMap files when neither defaultMode nor an item's mode is set.
const DefaultFileMode int32 = 0o644

// IsNativeSidecar reports whether c is an init container that keeps running beside the others
// (restartPolicy: Always).
func IsNativeSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// Containers returns the pod's long-running containers: spec.containers, then the native sidecars among
// spec.initContainers. Run-to-completion init containers are left out.
func Containers(pod *corev1.Pod) []*corev1.Container {
	if pod == nil {
		return nil
	}
	var out []*corev1.Container
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		if IsNativeSidecar(&pod.Spec.InitContainers[i]) {
			out = append(out, &pod.Spec.InitContainers[i])
		}
	}
	return out
}

// AllContainers returns every container that gets resources: spec.containers, then every init container.
func AllContainers(pod *corev1.Pod) []*corev1.Container {
	if pod == nil {
		return nil
	}
	var out []*corev1.Container
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	return out
}

// Container returns the long-running container named name (see Containers), or nil.
func Container(pod *corev1.Pod, name string) *corev1.Container {
	for _, c := range Containers(pod) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ContainerNames lists the names of the pod's long-running containers, for messages.
func ContainerNames(pod *corev1.Pod) []string {
	var out []string
	for _, c := range Containers(pod) {
		out = append(out, c.Name)
	}
	return out
}

// Volume returns the pod's volume named name, or nil.
func Volume(pod *corev1.Pod, name string) *corev1.Volume {
	if pod == nil {
		return nil
	}
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// VolumeSourceKinds returns the JSON names of the sources a volume sets ("emptyDir", "configMap", "hostPath", ...).
// A volume that sets none is reported as "emptyDir", as the API server defaults it.
func VolumeSourceKinds(v *corev1.Volume) []string {
	if v == nil {
		return nil
	}
	var out []string
	rv := reflect.ValueOf(v.VolumeSource)
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			out = append(out, jsonName(rt.Field(i)))
		}
	}
	if len(out) == 0 {
		return []string{"emptyDir"}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// IsEmptyDir reports whether v is an emptyDir volume (explicitly, or by default when it sets no source).
func IsEmptyDir(v *corev1.Volume) bool {
	k := VolumeSourceKinds(v)
	return len(k) == 1 && k[0] == "emptyDir"
}

// volumesWhere returns the names of the pod's volumes for which match is true.
func volumesWhere(pod *corev1.Pod, match func(v *corev1.Volume) bool) []string {
	if pod == nil {
		return nil
	}
	var out []string
	for i := range pod.Spec.Volumes {
		if match(&pod.Spec.Volumes[i]) {
			out = append(out, pod.Spec.Volumes[i].Name)
		}
	}
	return out
}

// EmptyDirVolumes returns the names of the pod's emptyDir volumes.
func EmptyDirVolumes(pod *corev1.Pod) []string { return volumesWhere(pod, IsEmptyDir) }

// ConfigMapVolumes returns the names of the pod's volumes that project ConfigMap configMap (a configMap volume, or a
// projected volume with that ConfigMap among its sources).
func ConfigMapVolumes(pod *corev1.Pod, configMap string) []string {
	return volumesWhere(pod, func(v *corev1.Volume) bool {
		if v.ConfigMap != nil && v.ConfigMap.Name == configMap {
			return true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil && s.ConfigMap.Name == configMap {
					return true
				}
			}
		}
		return false
	})
}

// ClaimVolumes returns the names of the pod's volumes that use PersistentVolumeClaim claim.
func ClaimVolumes(pod *corev1.Pod, claim string) []string {
	return volumesWhere(pod, func(v *corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim
	})
}

// Mounts returns the volume mounts of the long-running container named container (nil when it is missing).
func Mounts(pod *corev1.Pod, container string) []corev1.VolumeMount {
	if c := Container(pod, container); c != nil {
		return c.VolumeMounts
	}
	return nil
}

// MountedVolumes returns the names of the volumes mounted in container, in mount order, each once.
func MountedVolumes(pod *corev1.Pod, container string) []string {
	var out []string
	for _, m := range Mounts(pod, container) {
		if !slices.Contains(out, m.Name) {
			out = append(out, m.Name)
		}
	}
	return out
}

// VolumeMounts returns container's mounts of volume, in order.
func VolumeMounts(pod *corev1.Pod, container, volume string) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, m := range Mounts(pod, container) {
		if m.Name == volume {
			out = append(out, m)
		}
	}
	return out
}

// MountPath returns where volume is mounted in container, "" when it is not. A mount of the whole volume is preferred
// to a subPath mount; the path is cleaned ("/var/log/nginx/" gives "/var/log/nginx").
func MountPath(pod *corev1.Pod, container, volume string) string {
	ms := VolumeMounts(pod, container, volume)
	for _, m := range ms {
		if m.SubPath == "" && m.SubPathExpr == "" {
			return CleanPath(m.MountPath)
		}
	}
	if len(ms) > 0 {
		return CleanPath(ms[0].MountPath)
	}
	return ""
}

// SharedVolume is a volume mounted in several containers, with its mount path in each.
type SharedVolume struct {
	Name       string
	MountPaths map[string]string // container name -> mount path (see MountPath)
}

// SharedEmptyDirs returns every emptyDir volume mounted in all the named containers, in the pod's volume order.
func SharedEmptyDirs(pod *corev1.Pod, containers ...string) []SharedVolume {
	var out []SharedVolume
	if len(containers) == 0 {
		return nil
	}
	for _, v := range EmptyDirVolumes(pod) {
		paths := map[string]string{}
		for _, c := range containers {
			p := MountPath(pod, c, v)
			if p == "" {
				break
			}
			paths[c] = p
		}
		if len(paths) == len(containers) {
			out = append(out, SharedVolume{Name: v, MountPaths: paths})
		}
	}
	return out
}

// SharedEmptyDir returns the first emptyDir volume mounted in all the named containers, and its mount path in each.
func SharedEmptyDir(pod *corev1.Pod, containers ...string) (volumeName string, mountPaths map[string]string, ok bool) {
	s := SharedEmptyDirs(pod, containers...)
	if len(s) == 0 {
		return "", nil, false
	}
	return s[0].Name, s[0].MountPaths, true
}

// CleanPath cleans an absolute path ("/a//b/" gives "/a/b"); "" stays "".
func CleanPath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// PathWithin reports whether p is dir or below it (both cleaned first; "/a/bc" is not within "/a/b").
func PathWithin(p, dir string) bool {
	if p == "" || dir == "" {
		return false
	}
	p, dir = path.Clean(p), path.Clean(dir)
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// MountAt returns the mount of container that holds path p: the one with the deepest mount path that contains p, as
// later, deeper mounts shadow the ones above them. ok is false when no mount holds p.
func MountAt(pod *corev1.Pod, container, p string) (m corev1.VolumeMount, ok bool) {
	best := -1
	for _, mm := range Mounts(pod, container) {
		mp := CleanPath(mm.MountPath)
		if !PathWithin(p, mp) || len(mp) < best {
			continue
		}
		m, best, ok = mm, len(mp), true
	}
	return m, ok
}

// ConfigMapFile is a file that a ConfigMap key provides inside a container.
type ConfigMapFile struct {
	ConfigMap string             // the ConfigMap's name
	Key       string             // its key whose value is the file's content
	Volume    string             // the pod volume carrying it
	Mount     corev1.VolumeMount // the container's mount providing it
	Mode      int32              // the file's permission bits (item mode, else defaultMode, else 0644)
	Items     []corev1.KeyToPath // the volume's items, for messages
}

// ConfigMapFileAt resolves path p in container to the ConfigMap key that provides it, through a directory mount
// (the key's name, or an items path mapping), a subPath mount, or a projected volume. ok is false when p is not a
// ConfigMap file (not mounted, shadowed by a deeper mount of another volume, or not among the volume's items).
// Without items every key is a file, so the key is p's name and whether the ConfigMap has it is the caller's check.
func ConfigMapFileAt(pod *corev1.Pod, container, p string) (ConfigMapFile, bool) {
	m, ok := MountAt(pod, container, p)
	if !ok || m.SubPathExpr != "" {
		return ConfigMapFile{}, false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(path.Clean(p), CleanPath(m.MountPath)), "/")
	if m.SubPath != "" {
		rel = path.Join(m.SubPath, rel)
	}
	rel = path.Clean(rel)
	if rel == "." || rel == "" || strings.HasPrefix(rel, "..") {
		return ConfigMapFile{}, false
	}
	v := Volume(pod, m.Name)
	if v == nil {
		return ConfigMapFile{}, false
	}
	var sources []corev1.ConfigMapProjection
	var defaultMode *int32
	switch {
	case v.ConfigMap != nil:
		sources = append(sources, corev1.ConfigMapProjection{LocalObjectReference: v.ConfigMap.LocalObjectReference, Items: v.ConfigMap.Items})
		defaultMode = v.ConfigMap.DefaultMode
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil {
				sources = append(sources, *s.ConfigMap)
			}
		}
		defaultMode = v.Projected.DefaultMode
	}
	for i := range sources {
		s := &sources[i]
		mode := DefaultFileMode
		if defaultMode != nil {
			mode = *defaultMode
		}
		if len(s.Items) == 0 {
			if !strings.Contains(rel, "/") {
				return ConfigMapFile{ConfigMap: s.Name, Key: rel, Volume: v.Name, Mount: m, Mode: mode}, true
			}
			continue
		}
		for _, it := range s.Items {
			if path.Clean(it.Path) == rel {
				if it.Mode != nil {
					mode = *it.Mode
				}
				return ConfigMapFile{ConfigMap: s.Name, Key: it.Key, Volume: v.Name, Mount: m, Mode: mode, Items: s.Items}, true
			}
		}
	}
	return ConfigMapFile{}, false
}

// CommandWords splits a container's command and args into words, also splitting shell and Python text inside them
// (`sh -c "exec python /x/p.py"`, `exec(open('/s/p.py').read())`) at blanks, quotes, parentheses, brackets and the
// shell's operators. It is a heuristic for finding paths, not a shell parser.
func CommandWords(c *corev1.Container) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, arg := range append(append([]string(nil), c.Command...), c.Args...) {
		out = append(out, strings.FieldsFunc(arg, isWordSeparator)...)
	}
	return out
}

func isWordSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\'', '"', '`', ';', '&', '|', '(', ')', '<', '>', '=', ',', '[', ']':
		return true
	}
	return false
}

// unresolved reports whether a word holds a variable or template that cannot be resolved statically.
func unresolved(w string) bool {
	return strings.ContainsAny(w, "${}*?")
}

// AbsPaths returns the absolute paths ending in suffix that container c's command and args mention (relative paths
// and paths built from variables are left out: they cannot be resolved statically).
func AbsPaths(c *corev1.Container, suffix string) []string {
	var out []string
	for _, w := range CommandWords(c) {
		if strings.HasPrefix(w, "/") && strings.HasSuffix(w, suffix) && !unresolved(w) {
			out = append(out, path.Clean(w))
		}
	}
	return out
}

// ScriptPaths returns the paths of the files with extension ext (".py") that container c's command and args run,
// in order, as absolute paths: a relative path is resolved against a preceding `cd DIR`, else the container's
// workingDir, else "/" (the lab's images set no WORKDIR).
func ScriptPaths(c *corev1.Container, ext string) []string {
	if c == nil {
		return nil
	}
	cwd := "/"
	if c.WorkingDir != "" {
		cwd = path.Clean(c.WorkingDir)
	}
	words := CommandWords(c)
	var out []string
	for i, w := range words {
		if w == "cd" && i+1 < len(words) && strings.HasPrefix(words[i+1], "/") && !unresolved(words[i+1]) {
			cwd = path.Clean(words[i+1])
			continue
		}
		if !strings.HasSuffix(w, ext) || len(w) == len(ext) || unresolved(w) || strings.HasPrefix(w, "-") {
			continue
		}
		p := w
		if !strings.HasPrefix(p, "/") {
			p = path.Join(cwd, p)
		}
		if p = path.Clean(p); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Executable returns what the container executes directly: the first word of its command, else of its args (which
// then replace the image's CMD). "" when both are empty (the image's default runs).
func Executable(c *corev1.Container) string {
	if c == nil {
		return ""
	}
	if len(c.Command) > 0 {
		return strings.TrimSpace(c.Command[0])
	}
	if len(c.Args) > 0 {
		return strings.TrimSpace(c.Args[0])
	}
	return ""
}

// ImageRef is an image reference split into its parts, normalised the way container runtimes do
// ("nginx:1.24-alpine" is docker.io/library/nginx, tag 1.24-alpine).
type ImageRef struct {
	Name   string // "docker.io/library/nginx"
	Tag    string // "1.24-alpine"; "latest" when neither tag nor digest is given
	Digest string // "sha256:..." or ""
}

// ParseImage splits and normalises an image reference. It does not validate it.
func ParseImage(image string) ImageRef {
	ref := strings.TrimSpace(image)
	var r ImageRef
	if i := strings.Index(ref, "@"); i >= 0 {
		r.Digest, ref = ref[i+1:], ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		r.Tag, ref = ref[i+1:], ref[:i]
	}
	domain, rest := "docker.io", ref
	if i := strings.Index(ref, "/"); i >= 0 {
		if first := ref[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			domain, rest = first, ref[i+1:]
		}
	}
	if domain == "index.docker.io" || domain == "registry-1.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	r.Name = domain + "/" + rest
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r
}

// SameImage reports whether two image references name the same image: the same repository and the same tag (or,
// without tags, the same digest). "docker.io/library/nginx:1.24-alpine" is "nginx:1.24-alpine".
func SameImage(a, b string) bool {
	ra, rb := ParseImage(a), ParseImage(b)
	if ra.Name != rb.Name {
		return false
	}
	if ra.Tag != "" && rb.Tag != "" {
		return ra.Tag == rb.Tag
	}
	return ra.Digest != "" && ra.Digest == rb.Digest
}

// Request returns container c's effective request of resource r: the explicit request, else its limit (the API
// server defaults a missing request to the limit). explicit says which; ok is false when there is neither.
func Request(c *corev1.Container, r corev1.ResourceName) (q resource.Quantity, explicit, ok bool) {
	if c == nil {
		return q, false, false
	}
	if v, has := c.Resources.Requests[r]; has {
		return v, true, true
	}
	if v, has := c.Resources.Limits[r]; has {
		return v, false, true
	}
	return q, false, false
}

// Limit returns container c's limit of resource r.
func Limit(c *corev1.Container, r corev1.ResourceName) (q resource.Quantity, ok bool) {
	if c == nil {
		return q, false
	}
	q, ok = c.Resources.Limits[r]
	return q, ok
}

// ResourceProblems lists what is wrong with container c's cpu and memory resources: a missing request (when
// requests), a missing limit (when limits), a zero or negative value, a limit below its request. Empty when fine.
func ResourceProblems(c *corev1.Container, requests, limits bool) []string {
	if c == nil {
		return []string{"the container is missing"}
	}
	var out []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, _, hasReq := Request(c, r)
		lim, hasLim := Limit(c, r)
		switch {
		case requests && !hasReq:
			out = append(out, "no "+string(r)+" request")
		case hasReq && req.Sign() <= 0:
			out = append(out, string(r)+" request "+req.String()+" is not positive")
		}
		switch {
		case limits && !hasLim:
			out = append(out, "no "+string(r)+" limit")
		case hasLim && lim.Sign() <= 0:
			out = append(out, string(r)+" limit "+lim.String()+" is not positive")
		case hasLim && hasReq && lim.Cmp(req) < 0:
			out = append(out, string(r)+" limit "+lim.String()+" is below its request "+req.String())
		}
	}
	return out
}

// DescribeResources summarises container c's requests and limits for messages: "requests cpu=50m memory=32Mi;
// limits none".
func DescribeResources(c *corev1.Container) string {
	if c == nil {
		return "no container"
	}
	list := func(rl corev1.ResourceList) string {
		if len(rl) == 0 {
			return "none"
		}
		var s []string
		for k, v := range rl {
			s = append(s, string(k)+"="+v.String())
		}
		sort.Strings(s)
		return strings.Join(s, " ")
	}
	return "requests " + list(c.Resources.Requests) + "; limits " + list(c.Resources.Limits)
}

// DescribeMounts summarises container c's mounts for messages: "logs at /var/log/nginx, cfg at /etc/x (subPath y)".
func DescribeMounts(pod *corev1.Pod, container string) string {
	ms := Mounts(pod, container)
	if len(ms) == 0 {
		return "no volume mounts"
	}
	var s []string
	for _, m := range ms {
		d := m.Name + " at " + m.MountPath
		if m.SubPath != "" {
			d += " (subPath " + m.SubPath + ")"
		}
		if v := Volume(pod, m.Name); v == nil {
			d += " (no such volume)"
		} else {
			d += " (" + strings.Join(VolumeSourceKinds(v), "+") + ")"
		}
		s = append(s, d)
	}
	return strings.Join(s, ", ")
}

// MountedAt returns container's mount of volume at path p (paths compared cleaned), if there is one.
func MountedAt(pod *corev1.Pod, container, volume, p string) (corev1.VolumeMount, bool) {
	for _, m := range VolumeMounts(pod, container, volume) {
		if CleanPath(m.MountPath) == CleanPath(p) {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

// HasContainerPort reports whether container c declares TCP containerPort port.
func HasContainerPort(c *corev1.Container, port int32) bool {
	if c == nil {
		return false
	}
	for _, p := range c.Ports {
		if p.ContainerPort == port && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			return true
		}
	}
	return false
}

// DescribeVolumes lists the pod's volumes with their sources for messages: "logs (emptyDir), cfg (configMap x)".
func DescribeVolumes(pod *corev1.Pod) string {
	if pod == nil || len(pod.Spec.Volumes) == 0 {
		return "no volumes"
	}
	var s []string
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		d := v.Name + " (" + strings.Join(VolumeSourceKinds(v), "+")
		switch {
		case v.ConfigMap != nil:
			d += " " + v.ConfigMap.Name
		case v.PersistentVolumeClaim != nil:
			d += " " + v.PersistentVolumeClaim.ClaimName
		}
		s = append(s, d+")")
	}
	return "volumes " + strings.Join(s, ", ")
}

// DescribeVolumeUse says where volume is mounted in each of the named containers, for messages:
// "`logs` is mounted in web-app at /var/log, not in log-sidecar".
func DescribeVolumeUse(pod *corev1.Pod, volume string, containers ...string) string {
	var in, notIn []string
	for _, c := range containers {
		ms := VolumeMounts(pod, c, volume)
		if len(ms) == 0 {
			notIn = append(notIn, c)
			continue
		}
		var ps []string
		for _, m := range ms {
			p := m.MountPath
			if m.SubPath != "" {
				p += " (subPath " + m.SubPath + ")"
			}
			if m.ReadOnly {
				p += " (readOnly)"
			}
			ps = append(ps, p)
		}
		in = append(in, c+" at "+strings.Join(ps, " and "))
	}
	d := "`" + volume + "` is"
	if len(in) > 0 {
		d += " mounted in " + strings.Join(in, ", ")
		if len(notIn) > 0 {
			d += ","
		}
	}
	if len(notIn) > 0 {
		d += " not mounted in " + strings.Join(notIn, ", ")
	}
	return d
}
