package exercise

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// Declared returns every object of f with the given kind and name, in file order (more than one means the file
// declares it twice, and kubectl would apply the last).
func Declared(f *submission.File, kind, name string) []*submission.Object {
	if f == nil {
		return nil
	}
	var out []*submission.Object
	for _, o := range f.Objects {
		if o != nil && o.Kind == kind && o.Name == name {
			out = append(out, o)
		}
	}
	return out
}

// RequirePod returns the v1 Pod named name that f declares. When there is none (the file did not load, the Pod is
// missing, or it is not a v1 Pod) it returns nil and a failed verdict that names the Pod and lists what the file
// declares; the caller returns that verdict as is.
func RequirePod(f *submission.File, name string) (*corev1.Pod, check.Verdict) {
	expected := fmt.Sprintf("the Pod `%s`", name)
	if f != nil {
		expected += " in " + f.Name()
	}
	if v, bad := Unusable(f, expected); bad {
		return nil, v
	}
	objs := Declared(f, "Pod", name)
	for _, o := range objs {
		if o.Pod != nil {
			return o.Pod, check.Verdict{}
		}
	}
	if len(objs) > 0 {
		apiVersion := "unknown"
		if objs[0].Raw != nil {
			apiVersion = objs[0].Raw.GetAPIVersion()
		}
		return nil, check.Fail(expected+" (apiVersion v1)",
			fmt.Sprintf("the Pod `%s` with apiVersion %s", name, apiVersion),
			"Set `apiVersion: v1` on the Pod.")
	}
	return nil, check.Fail(expected,
		fmt.Sprintf("the Pod `%s` is missing; the file declares %s", name, f.Describe()),
		fmt.Sprintf("Declare a Pod with `metadata.name: %s`; the lab's commands use that name.", name))
}

// MissingContainers returns the names among names that pod has no long-running container for.
func MissingContainers(pod *corev1.Pod, names ...string) []string {
	var out []string
	for _, n := range names {
		if Container(pod, n) == nil {
			out = append(out, n)
		}
	}
	return out
}

// DescribeContainers lists the pod's long-running containers for messages: "containers web-app, sidecar" or
// "no containers".
func DescribeContainers(pod *corev1.Pod) string {
	n := ContainerNames(pod)
	if len(n) == 0 {
		return "no containers"
	}
	for i := range n {
		if n[i] == "" {
			n[i] = "(unnamed)"
		}
	}
	return "containers " + strings.Join(n, ", ")
}

// ContainersVerdict returns a failed verdict when pod lacks any of the named containers (nil otherwise), naming the
// missing ones and the ones the pod has.
func ContainersVerdict(pod *corev1.Pod, podName, expected string, names ...string) *check.Verdict {
	missing := MissingContainers(pod, names...)
	if len(missing) == 0 {
		return nil
	}
	v := check.Fail(expected,
		fmt.Sprintf("no container `%s` in the Pod `%s` (it has %s)", strings.Join(missing, "`, `"), podName, DescribeContainers(pod)),
		"Name the containers as the lab does (`"+strings.Join(names, "`, `")+"`); the lab's and the grader's commands use these names.")
	return &v
}

// Quote wraps each of names in backquotes and joins them with ", ", for messages.
func Quote(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

// Findings collects what a static check found wrong, each with a hint for the student, and turns them into one
// verdict. The zero value is ready to use.
type Findings struct {
	seen  []string
	hints []string
}

// Add records one problem: what the manifest has (seen) and a concrete next step (hint; "" for none). Repeated
// hints are given once.
func (fs *Findings) Add(seen, hint string) {
	fs.seen = append(fs.seen, seen)
	if hint != "" && !slices.Contains(fs.hints, hint) {
		fs.hints = append(fs.hints, hint)
	}
}

// Empty reports whether nothing was found wrong.
func (fs *Findings) Empty() bool { return len(fs.seen) == 0 }

// Verdict is pass when nothing was found wrong, else a failed verdict: expected, then every problem seen, then
// every hint.
func (fs *Findings) Verdict(expected string, pass check.Verdict) check.Verdict {
	if fs.Empty() {
		return pass
	}
	hint := strings.Join(fs.hints, "; ")
	if hint != "" {
		hint = strings.ToUpper(hint[:1]) + hint[1:] + "."
	}
	return check.Fail(expected, strings.Join(fs.seen, "; "), hint)
}

// docs lists the document numbers of objs for messages: "documents 1 and 3".
func docs(objs []*submission.Object) string {
	var n []string
	for _, o := range objs {
		n = append(n, fmt.Sprint(o.Doc))
	}
	return "documents " + strings.Join(n, " and ")
}

// CheckDeclared records in fs whether f declares exactly one v1 object of kind named name, and returns it (nil when
// missing or not v1). A second declaration is a problem: kubectl applies the last, the checks read the first.
func CheckDeclared(fs *Findings, f *submission.File, kind, name string) *submission.Object {
	objs := Declared(f, kind, name)
	if len(objs) == 0 {
		fs.Add(fmt.Sprintf("no %s `%s`", kind, name),
			fmt.Sprintf("declare a %s with `metadata.name: %s` (the lab's commands use that name)", kind, name))
		return nil
	}
	if len(objs) > 1 {
		fs.Add(fmt.Sprintf("the %s `%s` is declared %d times (%s)", kind, name, len(objs), docs(objs)),
			fmt.Sprintf("declare the %s `%s` once", kind, name))
	}
	o := objs[0]
	if o.Raw != nil && o.Raw.GetAPIVersion() != "v1" {
		fs.Add(fmt.Sprintf("the %s `%s` has apiVersion %s", kind, name, o.Raw.GetAPIVersion()),
			fmt.Sprintf("a %s's apiVersion is v1", kind))
		return nil
	}
	return o
}

// CheckConfigMapKeys records in fs each of keys that ConfigMap cm lacks (in data or binaryData).
func CheckConfigMapKeys(fs *Findings, cm *corev1.ConfigMap, keys ...string) {
	if cm == nil {
		return
	}
	var have []string
	for k := range cm.Data {
		have = append(have, k)
	}
	for k := range cm.BinaryData {
		have = append(have, k)
	}
	slices.Sort(have)
	for _, k := range keys {
		if !slices.Contains(have, k) {
			fs.Add(fmt.Sprintf("the ConfigMap `%s` has no key `%s` (its keys: %s)", cm.Name, k, Quote(have)),
				fmt.Sprintf("put the content under the key `%s` in the ConfigMap `%s`'s data", k, cm.Name))
		}
	}
}

// CheckContainer records in fs that pod has no long-running container named name, and returns it (nil if missing).
func CheckContainer(fs *Findings, pod *corev1.Pod, name string) *corev1.Container {
	c := Container(pod, name)
	if c == nil {
		fs.Add(fmt.Sprintf("no container `%s` (the Pod has %s)", name, DescribeContainers(pod)),
			"name the containers as the lab does; the lab's and the grader's commands use those names")
	}
	return c
}

// CheckImage records in fs that container name is missing from pod or does not run image.
func CheckImage(fs *Findings, pod *corev1.Pod, name, image string) {
	c := CheckContainer(fs, pod, name)
	if c == nil {
		return
	}
	if !SameImage(c.Image, image) {
		got := c.Image
		if got == "" {
			got = "no image"
		}
		fs.Add(fmt.Sprintf("`%s` runs `%s`", name, got),
			fmt.Sprintf("use the image `%s` for `%s`, as the lab does (the grading cluster provides the lab's images)", image, name))
	}
}

// CheckResources records in fs the cpu and memory problems of container name (see ResourceProblems); requests and
// limits say which must be set. A missing container is recorded too.
func CheckResources(fs *Findings, pod *corev1.Pod, name string, requests, limits bool) {
	c := CheckContainer(fs, pod, name)
	if c == nil {
		return
	}
	probs := ResourceProblems(c, requests, limits)
	if len(probs) == 0 {
		return
	}
	var want []string
	if requests {
		want = append(want, "requests")
	}
	if limits {
		want = append(want, "limits")
	}
	hint := "keep every limit at or above its request"
	if len(want) > 0 {
		hint = fmt.Sprintf("set cpu and memory %s under `resources` in `%s` (e.g. cpu: 50m, memory: 32Mi), each limit >= its request",
			strings.Join(want, " and "), name)
	}
	fs.Add(fmt.Sprintf("`%s` has %s (%s)", name, strings.Join(probs, ", "), DescribeResources(c)), hint)
}

// Unusable returns a failed verdict and true when f is nil or did not load; static funcs start with it.
func Unusable(f *submission.File, expected string) (check.Verdict, bool) {
	switch {
	case f == nil:
		return check.Fail(expected, "no manifest", "Submit the exercise's manifest."), true
	case f.Err != nil:
		return check.Fail(expected, "a file that cannot be used: "+f.Err.Error(),
			"Fix the file so that `kubectl apply -f "+f.Name()+"` accepts it."), true
	}
	return check.Verdict{}, false
}

// DescribePorts lists container ports for messages: "ports 8080/TCP" or "no ports".
func DescribePorts(ports []corev1.ContainerPort) string {
	if len(ports) == 0 {
		return "no ports"
	}
	var s []string
	for _, p := range ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		s = append(s, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
	}
	return "ports " + strings.Join(s, ", ")
}

// CheckSharedLogVolume evaluates a shared log volume: one emptyDir mounted, writable, at writerPath in container
// writer, and anywhere in each of readers. It returns a description of the volume when it is there, else "" after
// recording in fs where each emptyDir is mounted and a hint.
func CheckSharedLogVolume(fs *Findings, pod *corev1.Pod, writerPath, writer string, readers ...string) string {
	all := append([]string{writer}, readers...)
	cands := SharedEmptyDirs(pod, all...)
	readOnly := ""
	for _, c := range cands {
		m, ok := MountedAt(pod, writer, c.Name, writerPath)
		if !ok {
			continue
		}
		if m.ReadOnly {
			readOnly = c.Name
			continue
		}
		var where []string
		for _, r := range readers {
			where = append(where, fmt.Sprintf("at %s in `%s`", c.MountPaths[r], r))
		}
		return fmt.Sprintf("emptyDir `%s` is mounted at %s in `%s` and %s", c.Name, CleanPath(writerPath), writer, strings.Join(where, ", "))
	}
	var seen []string
	for _, v := range EmptyDirVolumes(pod) {
		seen = append(seen, "emptyDir "+DescribeVolumeUse(pod, v, all...))
	}
	var hint string
	switch {
	case len(seen) == 0:
		seen = append(seen, "no emptyDir volume ("+DescribeVolumes(pod)+")")
		hint = fmt.Sprintf("declare a volume with `emptyDir: {}` and mount it in `%s` at %s and in %s at a path of your choice",
			writer, writerPath, Quote(readers))
	case readOnly != "":
		hint = fmt.Sprintf("drop `readOnly` from `%s`'s mount of `%s`: it writes its logs there", writer, readOnly)
	case len(cands) > 0:
		hint = fmt.Sprintf("mount the shared emptyDir at %s in `%s`: that is where it writes its logs", writerPath, writer)
	default:
		hint = fmt.Sprintf("mount one emptyDir volume in every one of %s (at %s in `%s`)", Quote(all), writerPath, writer)
	}
	for _, c := range all {
		for _, m := range Mounts(pod, c) {
			if Volume(pod, m.Name) == nil {
				seen = append(seen, fmt.Sprintf("`%s` mounts `%s`, which is not a volume of the Pod", c, m.Name))
			}
		}
	}
	fs.Add(strings.Join(seen, "; "), hint)
	return ""
}

// DescribeConfigMapFile says, for a failed message, what path p is in container (which ConfigMap key, which mount,
// or nothing) and where the volumes of ConfigMap want are mounted in it.
func DescribeConfigMapFile(pod *corev1.Pod, container, p, want string) string {
	var s []string
	if file, ok := ConfigMapFileAt(pod, container, p); ok {
		s = append(s, fmt.Sprintf("%s in `%s` is the key `%s` of the ConfigMap `%s`", p, container, file.Key, file.ConfigMap))
	} else if m, ok := MountAt(pod, container, p); ok {
		v := Volume(pod, m.Name)
		switch {
		case v == nil:
			s = append(s, fmt.Sprintf("%s in `%s` falls in the mount of `%s`, which is not a volume of the Pod", p, container, m.Name))
		case CleanPath(m.MountPath) == CleanPath(p) && m.SubPath == "":
			s = append(s, fmt.Sprintf("the volume `%s` is mounted at %s itself without subPath, which makes %s a directory",
				m.Name, m.MountPath, p))
		default:
			d := fmt.Sprintf("%s in `%s` falls in the mount of the volume `%s` at %s", p, container, m.Name, m.MountPath)
			if m.SubPath != "" {
				d += " (subPath " + m.SubPath + ")"
			}
			d += " (" + strings.Join(VolumeSourceKinds(v), "+") + "), which provides no such file"
			if v.ConfigMap != nil && len(v.ConfigMap.Items) > 0 {
				var it []string
				for _, i := range v.ConfigMap.Items {
					it = append(it, i.Key+"->"+i.Path)
				}
				d += " (its items: " + strings.Join(it, ", ") + ")"
			}
			s = append(s, d)
		}
	} else {
		s = append(s, fmt.Sprintf("nothing is mounted at or above %s in `%s` (%s)", p, container, DescribeMounts(pod, container)))
	}
	vols := ConfigMapVolumes(pod, want)
	if len(vols) == 0 {
		s = append(s, fmt.Sprintf("no volume uses the ConfigMap `%s` (%s)", want, DescribeVolumes(pod)))
	}
	for _, v := range vols {
		s = append(s, "the ConfigMap's volume "+DescribeVolumeUse(pod, v, container))
	}
	return strings.Join(s, "; ")
}

// DescribeCommand shows what container c runs, shortened to one line for messages.
func DescribeCommand(c *corev1.Container) string {
	if c == nil || len(c.Command)+len(c.Args) == 0 {
		return "the image's default command (no command or args)"
	}
	s := strings.Join(strings.Fields(strings.Join(append(append([]string(nil), c.Command...), c.Args...), " ")), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return "`" + s + "`"
}
