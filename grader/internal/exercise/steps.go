package exercise

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/probe"
)

// The steps below are shared by the exercises' runtime scenarios.

// EvidenceTail is how many log lines per container a failed check attaches.
const EvidenceTail = 25

// CheckReady waits for pod to be Ready with every container running and records check id. It returns false when
// the pod never got there (the scenario should then stop; the rest of its checks fail as not evaluated), and an
// InfraError when the cluster, not the submission, kept it from getting there (see ReadyCheck). extra, when not
// nil, is a further condition once the pod is Ready.
func (e *Env) CheckReady(ctx context.Context, id, pod string, deadline time.Duration, extra func(ctx context.Context) (string, bool)) (bool, error) {
	r := ReadyCheck{ID: id, Pod: pod, Deadline: deadline}
	if extra != nil {
		r.Extra = func(ctx context.Context) (string, bool, error) { msg, ok := extra(ctx); return msg, ok, nil }
	}
	return e.CheckReadyWith(ctx, r)
}

// ReadyCheck is what CheckReadyWith waits for and how it explains a pod that never got Ready.
type ReadyCheck struct {
	ID       string        // the check recorded, "ex1.ready"
	Pod      string        // the pod awaited
	Deadline time.Duration // how long it may take
	// Extra, when set, is a further condition once the pod is Ready: ok false fails the check with msg; an error
	// (an InfraError) ends the scenario.
	Extra func(ctx context.Context) (msg string, ok bool, err error)
	// Diagnose, when set, is asked why the pod (maybe nil) never got Ready. An InfraError means the cluster is to
	// blame (the check becomes an error); otherwise a non-empty hint replaces the generic one of the failure.
	Diagnose func(ctx context.Context, p *corev1.Pod) (hint string, err error)
}

// CheckReadyWith is CheckReady with a diagnosis: when the pod never gets Ready it first asks whether the cluster is
// to blame (a lab image missing from the node: MissingLabImage), then r.Diagnose, and returns their InfraError
// instead of recording a failure.
func (e *Env) CheckReadyWith(ctx context.Context, r ReadyCheck) (bool, error) {
	p, err := e.WaitReady(ctx, r.Pod, r.Deadline)
	if err != nil && !errors.Is(err, kube.ErrTimeout) {
		return false, err
	}
	if err == nil && r.Extra != nil {
		msg, ok, xerr := r.Extra(ctx)
		if xerr != nil {
			return false, xerr
		}
		if !ok {
			e.Rec.Set(r.ID, check.Fail("the pod Ready with every container running, and "+msg, msg, "").With(e.Evidence(ctx, r.Pod, EvidenceTail)...))
			return false, nil
		}
	}
	if err == nil {
		e.Rec.Set(r.ID, check.Pass("pod %s Ready with %d containers running", r.Pod, len(p.Spec.Containers)))
		return true, nil
	}
	if ierr := MissingLabImage(p); ierr != nil {
		return false, ierr
	}
	hint := hintNotReady(p)
	if r.Diagnose != nil {
		h, derr := r.Diagnose(ctx, p)
		if derr != nil {
			return false, derr
		}
		if h != "" {
			hint = h
		}
	}
	seen := "no pod " + r.Pod
	if p != nil {
		seen = kube.PodState(p)
	}
	e.Rec.Set(r.ID, check.Fail(fmt.Sprintf("pod %s Ready with every container running within %s", r.Pod, r.Deadline), seen,
		hint).With(e.Evidence(ctx, r.Pod, EvidenceTail)...))
	return false, nil
}

// LabImages are the images the lab fixes (cluster.LabImages, repeated here so that grading does not depend on the
// kind package): the grading cluster must have them on its node, so a pod that cannot get one of them is the
// cluster's failure, not the student's.
var LabImages = []string{"nginx:1.24-alpine", "busybox:1.35", "python:3.11-alpine"}

// imageWaitReasons are the waiting reasons of a container whose image is not on the node and cannot be pulled.
var imageWaitReasons = map[string]bool{"ErrImageNeverPull": true, "ImagePullBackOff": true, "ErrImagePull": true}

// LabImage returns the lab image that image names (in its short form, "busybox:1.35"), accepting the registry's
// long forms ("docker.io/library/busybox:1.35", "docker.io/busybox:1.35", "library/busybox:1.35",
// "index.docker.io/library/busybox:1.35"); "" when image is not one of LabImages (another tag, registry or a digest).
func LabImage(image string) string {
	short := image
	for _, prefix := range []string{"docker.io/library/", "index.docker.io/library/", "registry-1.docker.io/library/", "docker.io/", "library/"} {
		if rest, ok := strings.CutPrefix(short, prefix); ok {
			short = rest
			break
		}
	}
	for _, l := range LabImages {
		if short == l {
			return l
		}
	}
	return ""
}

// MissingLabImage returns an InfraError when a container of p waits because its image cannot be had
// (ErrImageNeverPull, ErrImagePull, ImagePullBackOff) and that image is one of the lab's: the grading cluster
// should have it on its node ("run make cluster"). A student's other image is the student's failure: nil.
func MissingLabImage(p *corev1.Pod) error {
	if p == nil {
		return nil
	}
	specs := map[string]corev1.Container{}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		specs[c.Name] = c
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.State.Waiting == nil || !imageWaitReasons[cs.State.Waiting.Reason] {
			continue
		}
		c, ok := specs[cs.Name]
		image := c.Image
		if !ok || image == "" {
			image = cs.Image
		}
		lab := LabImage(image)
		if lab == "" {
			continue
		}
		detail := cs.State.Waiting.Reason
		if m := firstLine(cs.State.Waiting.Message); m != "" {
			detail += ": " + m
		}
		if c.ImagePullPolicy == corev1.PullAlways {
			return kube.Diagnosed("image %s of container %s could not be pulled (%s): the pod's imagePullPolicy Always makes "+
				"the kubelet pull it, and the grading cluster could not; the lab's images must be on the node and pullable, "+
				"or grade on a cluster that reaches the registry", lab, cs.Name, detail)
		}
		return kube.Diagnosed("image %s is not on the node: run make cluster to load it (container %s of pod %s waits: %s)",
			lab, cs.Name, p.Name, detail)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func hintNotReady(p *corev1.Pod) string {
	if p == nil {
		return "the Pod was never created: check its name and that the manifest applies"
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil && strings.Contains(cs.State.Waiting.Reason, "Image"):
			return "container " + cs.Name + " cannot get its image: use exactly the image the lab names"
		case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff", cs.State.Terminated != nil:
			return "container " + cs.Name + " exits: read its log (below) and run the command by hand with kubectl exec"
		case cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError":
			return "container " + cs.Name + " cannot be created: a ConfigMap, key or volume it refers to is missing"
		case cs.State.Running != nil && !cs.Ready:
			return "container " + cs.Name + " runs but its readiness probe fails: check the probe's command or path"
		}
	}
	return "read the pod's events below: a volume that cannot mount or a missing ConfigMap is the usual cause"
}

// NotEvaluated fails every runtime check still without a verdict, saying why (e.g. the pod never became Ready).
func (e *Env) NotEvaluated(specs []check.Spec, why string) {
	e.Rec.SetRest(specs, "runtime", check.Fail("this check to be evaluated", "it was not: "+why, "fix the earlier failure first"))
}

// Curl sends p from inside container (which must have curl) to localhost:80.
func (e *Env) Curl(ctx context.Context, pod, container string, p probe.Probe) (probe.Response, error) {
	res, err := e.Exec(ctx, pod, container, p.Curl(), 15*time.Second)
	if err != nil {
		return probe.Response{}, err
	}
	if res.ExitCode != 0 {
		return probe.Response{}, fmt.Errorf("curl %s in %s exited %d: %s", p.Path, container, res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return probe.ParseCurl(res.Stdout)
}

// NginxLog is nginx's access log as read from the web-app container, one line per entry.
type NginxLog []string

// ReadNginxLog reads /var/log/nginx/access.log (the path the lab fixes) from container, bounded to its last MiB.
func (e *Env) ReadNginxLog(ctx context.Context, pod, container string) (NginxLog, error) {
	res, err := e.Exec(ctx, pod, container, []string{"tail", "-c", "1048576", "/var/log/nginx/access.log"}, 15*time.Second)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("cannot read /var/log/nginx/access.log in %s: %s", container, strings.TrimSpace(res.Stderr))
	}
	return splitLines(res.Stdout), nil
}

// Line returns the one access-log line holding probe id, or "" (with how many held it).
func (l NginxLog) Line(id string) (string, int) {
	var got string
	n := 0
	for _, line := range l {
		if strings.Contains(line, "probe="+id+" ") || strings.Contains(line, "probe="+id+"&") {
			got = line
			n++
		}
	}
	return got, n
}

// AccessEntry is one line of nginx's `main` log format, parsed.
type AccessEntry struct {
	ClientIP, TimeLocal, Method, Path, Protocol string
	Status, Bytes                               int
	Referer, UserAgent                          string
}

var mainFormat = regexp.MustCompile(`^(\S+) - (\S+) \[([^\]]+)\] "(\S+) (\S+) ([^"]+)" (\d{3}) (\d+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"`)

// ParseAccess parses a `main`-format access log line.
func ParseAccess(line string) (AccessEntry, bool) {
	m := mainFormat.FindStringSubmatch(line)
	if m == nil {
		return AccessEntry{}, false
	}
	st, _ := strconv.Atoi(m[7])
	by, _ := strconv.Atoi(m[8])
	return AccessEntry{ClientIP: m[1], TimeLocal: m[3], Method: m[4], Path: m[5], Protocol: m[6], Status: st, Bytes: by,
		Referer: m[9], UserAgent: m[10]}, true
}

// WarmUp sends marked warm-up requests through nginx until one of them shows up in watcher's log, so that the
// probes that follow are sent only once the program under test can see them (the lab's processor seeks to the end
// of the log when it starts). paths are cycled. It returns false when none showed within deadline, and an
// InfraError when the cluster failed meanwhile.
func (e *Env) WarmUp(ctx context.Context, pod, web, watcher string, run string, paths []string, deadline time.Duration) (bool, error) {
	since := time.Now().Add(-2 * time.Second)
	var sent []string
	var last time.Time
	err := kube.Poll(ctx, deadline, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		if time.Since(last) >= time.Second { // one warm-up a second, so a slow starter is not flooded
			p := probe.New(run+"w", len(sent), paths[len(sent)%len(paths)])
			if _, err := e.Curl(ctx, pod, web, p); err != nil {
				if kube.IsInfra(err) {
					return false, err
				}
				e.Logf("warm-up: %v", err)
			}
			sent = append(sent, p.ID)
			last = time.Now()
		}
		log, err := e.Logs(ctx, pod, watcher, kube.LogOptions{Since: since})
		if err != nil {
			return false, kube.OnlyInfra(err)
		}
		for _, id := range sent {
			if strings.Contains(log, id) {
				return true, nil
			}
		}
		return false, nil
	})
	if errors.Is(err, kube.ErrTimeout) {
		return false, nil
	}
	return err == nil, err
}

// CheckStable records check id: no container of pod restarted. It returns an InfraError (recording nothing) when
// the cluster could not be asked.
func (e *Env) CheckStable(ctx context.Context, id, pod string, before map[string]int32) error {
	v, err := e.Stable(ctx, pod, before)
	if err != nil {
		return err
	}
	e.Rec.Set(id, v)
	return nil
}

// Stable is the verdict "no container of pod restarted" (before: the counts when grading began), or an InfraError
// when the cluster could not be asked.
func (e *Env) Stable(ctx context.Context, pod string, before map[string]int32) (check.Verdict, error) {
	after, err := e.Restarts(ctx, pod)
	if kube.IsInfra(err) {
		return check.Verdict{}, err
	}
	if err != nil {
		return check.Fail("pod "+pod+" still there at the end", err.Error(), ""), nil
	}
	var restarted []string
	for c, n := range after {
		if n > 0 || before[c] > 0 {
			restarted = append(restarted, fmt.Sprintf("%s restarted %d times", c, n))
		}
	}
	if len(restarted) > 0 {
		return check.Fail("no container restart while grading", strings.Join(restarted, ", "),
			"a restarted container crashed or was OOM-killed: read its previous log below (kubectl logs --previous)").
			With(e.Evidence(ctx, pod, EvidenceTail)...), nil
	}
	return check.Pass("no container restarted"), nil
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Lines splits a log into lines (no trailing empty line).
func Lines(s string) []string { return splitLines(s) }

// ShowLine shows a log line in a message, quoted and shortened.
func ShowLine(s string) string {
	if len(s) > 300 {
		n := 300
		for n > 0 && !utf8.RuneStart(s[n]) { // never cut a multi-byte rune in two
			n--
		}
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}
