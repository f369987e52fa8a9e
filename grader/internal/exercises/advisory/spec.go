// Package advisory holds the advisory checks: best practices the lab recommends but does not grade (0 points unless
// a rubric file gives them points). They look across every exercise's manifest.
package advisory

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// The advisory checks' IDs.
const (
	ProbesID       = "adv.probes"
	LimitsID       = "adv.limits"
	GracefulStopID = "adv.graceful-stop"
)

// Checks are the advisory checks, in rubric order.
var Checks = []check.Spec{
	{ID: ProbesID, Title: "Long-running containers have readiness probes.", Kind: result.Static, Points: 0},
	{ID: LimitsID, Title: "Every container has cpu and memory limits.", Kind: result.Static, Points: 0},
	{ID: GracefulStopID, Title: "Pods stop promptly when deleted.", Kind: result.Runtime, Points: 0},
}

// FilesFunc evaluates an advisory static check over every manifest loaded; files that did not load are skipped.
type FilesFunc func(files []*submission.File) check.Verdict

// Static maps each advisory static check to its evaluation.
var Static = map[string]FilesFunc{ProbesID: Probes, LimitsID: Limits}

// podRef is one Pod of one loaded file.
type podRef struct {
	file string
	pod  *corev1.Pod
}

// loadedPods returns the Pods of the files that loaded, and the names of the loaded files.
func loadedPods(files []*submission.File) (pods []podRef, loaded []string) {
	for _, f := range files {
		if f == nil || f.Err != nil {
			continue
		}
		loaded = append(loaded, f.Name())
		for _, o := range f.Objects {
			if o != nil && o.Pod != nil {
				pods = append(pods, podRef{f.Name(), o.Pod})
			}
		}
	}
	return pods, loaded
}

// across evaluates lacks (the problems of one container, "" for none) on the containers each pod's list gives,
// over every loaded file.
func across(files []*submission.File, expected, hint string, list func(*corev1.Pod) []*corev1.Container,
	lacks func(*corev1.Container) string) check.Verdict {
	pods, loaded := loadedPods(files)
	if len(loaded) == 0 {
		return check.Fail(expected, "no manifest loaded (every exercise's file is missing or invalid)", "Fix the manifests first.")
	}
	if len(pods) == 0 {
		return check.Fail(expected, "no Pod in "+strings.Join(loaded, ", "), "Declare the exercises' Pods.")
	}
	var seen []string
	n := 0
	for _, p := range pods {
		for _, c := range list(p.pod) {
			n++
			if why := lacks(c); why != "" {
				seen = append(seen, fmt.Sprintf("%s: Pod `%s`, container `%s` %s", p.file, p.pod.Name, c.Name, why))
			}
		}
	}
	if len(seen) > 0 {
		return check.Fail(expected, strings.Join(seen, "; "), hint)
	}
	return check.Pass("all %d containers of %d Pods in %s", n, len(pods), strings.Join(loaded, ", "))
}

// Probes is adv.probes: every long-running container (all of the lab's containers serve or process) has a
// readinessProbe.
func Probes(files []*submission.File) check.Verdict {
	return across(files, "a readinessProbe on every long-running container",
		"Add a readinessProbe to each container: httpGet on port 80 for nginx; for a sidecar, an exec probe that "+
			"checks its work (e.g. `test -f /shared-logs/access.log`).",
		exercise.Containers,
		func(c *corev1.Container) string {
			if c.ReadinessProbe == nil {
				return "has no readinessProbe"
			}
			return ""
		})
}

// Limits is adv.limits: every container (init containers too) has cpu and memory limits.
func Limits(files []*submission.File) check.Verdict {
	return across(files, "cpu and memory limits on every container",
		"Set `resources.limits` (cpu and memory) on every container, at or above its requests, so that no container "+
			"can starve the others.",
		exercise.AllContainers,
		func(c *corev1.Container) string {
			var miss []string
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := exercise.Limit(c, r); !ok {
					miss = append(miss, string(r))
				}
			}
			if len(miss) > 0 {
				return "has no " + strings.Join(miss, " or ") + " limit"
			}
			return ""
		})
}
