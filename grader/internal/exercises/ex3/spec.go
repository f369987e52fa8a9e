// Package ex3 is exercise 3 of Lab 7, the sidecar with persistent storage: a Python app writes application.log to
// a shared emptyDir and a busybox aggregator writes summaries and an errors archive to a PersistentVolumeClaim.
// spec.go declares the checks and evaluates the static ones; runtime.go holds the runtime scenario.
package ex3

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// The names, images and paths the lab fixes for exercise 3 (everything else is the student's choice).
const (
	PodName         = "persistent-log-demo"
	App             = "app"
	LogAggregator   = "log-aggregator"
	ClaimName       = "log-storage"
	ClaimSize       = "1Gi"
	PythonImage     = "python:3.11-alpine"
	BusyboxImage    = "busybox:1.35"
	PersistentDir   = "/persistent-logs"
	ApplicationLog  = "application.log"
	ClaimAccessMode = corev1.ReadWriteOnce
)

// Definition is exercise 3: its checks in rubric order and the evaluation of its static checks. Run is set by the
// runtime scenario.
var Definition = exercise.Definition{
	ID:    "ex3",
	Title: "Persistent storage",
	File:  "persistent-sidecar",
	Checks: []check.Spec{
		{ID: "ex3.manifest", Title: "The manifest declares the PVC and the Pod.", Kind: result.Static, Points: 1},
		{ID: "ex3.containers", Title: "The containers run the lab's images.", Kind: result.Static, Points: 1},
		{ID: "ex3.volumes", Title: "The app's log is shared and the PVC holds the aggregator's files.", Kind: result.Static, Points: 1},
		{ID: "ex3.resources", Title: "Both containers have cpu and memory requests.", Kind: result.Static, Points: 1},
		{ID: "ex3.ready", Title: "The PVC binds and the Pod becomes Ready.", Kind: result.Runtime, Points: 2},
		{ID: "ex3.app-output", Title: "The app's output reaches its log promptly.", Kind: result.Runtime, Points: 1},
		{ID: "ex3.app-log", Title: "The app writes application.log in the expected format.", Kind: result.Runtime, Points: 1},
		{ID: "ex3.summary-format", Title: "Every summary line has the expected format.", Kind: result.Runtime, Points: 2},
		{ID: "ex3.summary-counts", Title: "The summary counts match the application log.", Kind: result.Runtime, Points: 2},
		{ID: "ex3.errors-archive", Title: "errors.log holds exactly the ERROR lines.", Kind: result.Runtime, Points: 2},
		{ID: "ex3.persistence", Title: "The summaries survive re-creating the Pod.", Kind: result.Runtime, Points: 3},
		{ID: "ex3.stable", Title: "No container restarts.", Kind: result.Runtime, Points: 1},
	},
	Static: map[string]exercise.StaticFunc{
		"ex3.manifest":   staticManifest,
		"ex3.containers": staticContainers,
		"ex3.volumes":    staticVolumes,
		"ex3.resources":  staticResources,
	},
}

func staticManifest(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("the PersistentVolumeClaim `%s` (ReadWriteOnce, %s) and the Pod `%s`", ClaimName, ClaimSize, PodName)
	if v, bad := exercise.Unusable(f, expected); bad {
		return v
	}
	var fs exercise.Findings
	if o := exercise.CheckDeclared(&fs, f, "PersistentVolumeClaim", ClaimName); o != nil && o.PVC != nil {
		staticClaim(&fs, o.PVC)
	}
	exercise.CheckDeclared(&fs, f, "Pod", PodName)
	if !fs.Empty() {
		fs.Add("the file declares "+f.Describe(), "")
	}
	return fs.Verdict(expected, check.Pass("the file declares %s; the claim asks ReadWriteOnce %s", f.Describe(), ClaimSize))
}

// staticClaim checks the claim's access mode and size.
func staticClaim(fs *exercise.Findings, pvc *corev1.PersistentVolumeClaim) {
	modes := pvc.Spec.AccessModes
	if !slices.Contains(modes, ClaimAccessMode) || slices.ContainsFunc(modes, func(m corev1.PersistentVolumeAccessMode) bool { return m != ClaimAccessMode }) {
		var s []string
		for _, m := range modes {
			s = append(s, string(m))
		}
		got := "no access modes"
		if len(s) > 0 {
			got = "access modes " + strings.Join(s, ", ")
		}
		fs.Add(fmt.Sprintf("the claim `%s` has %s", ClaimName, got),
			"set `accessModes: [ReadWriteOnce]` on the claim: one node's pod mounts it")
	}
	want := resource.MustParse(ClaimSize)
	got, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	switch {
	case !ok:
		fs.Add(fmt.Sprintf("the claim `%s` requests no storage", ClaimName),
			"set `resources: {requests: {storage: 1Gi}}` on the claim")
	case got.Cmp(want) != 0:
		fs.Add(fmt.Sprintf("the claim `%s` requests %s (%d bytes), not %s (%d bytes)", ClaimName, got.String(), got.Value(), ClaimSize, want.Value()),
			"request `storage: 1Gi` (1Gi is 1024Mi; 1G is 1000M, a different size)")
	}
}

func staticContainers(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("`%s` running `%s`, `%s` running `%s`", App, PythonImage, LogAggregator, BusyboxImage)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	exercise.CheckImage(&fs, pod, App, PythonImage)
	exercise.CheckImage(&fs, pod, LogAggregator, BusyboxImage)
	return fs.Verdict(expected, check.Pass("`%s` runs %s, `%s` runs %s", App, PythonImage, LogAggregator, BusyboxImage))
}

func staticVolumes(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("one emptyDir mounted in `%s` (where it writes %s) and in `%s`; the claim `%s` mounted, writable, at %s in `%s`",
		App, ApplicationLog, LogAggregator, ClaimName, PersistentDir, LogAggregator)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	if v := exercise.ContainersVerdict(pod, PodName, expected, App, LogAggregator); v != nil {
		return *v
	}
	var fs exercise.Findings
	var passed []string
	if d := staticSharedAppLog(&fs, pod); d != "" {
		passed = append(passed, d)
	}
	if d := staticClaimMount(&fs, pod); d != "" {
		passed = append(passed, d)
	}
	return fs.Verdict(expected, check.Pass("%s", strings.Join(passed, "; ")))
}

// staticSharedAppLog finds the emptyDir shared by app and log-aggregator that holds application.log: when a
// container's command names an absolute path to application.log, that path must lie in the volume's mount (a path
// built from variables or relative to a directory cannot be resolved, and is not held against the student).
func staticSharedAppLog(fs *exercise.Findings, pod *corev1.Pod) string {
	appLogs := exercise.AbsPaths(exercise.Container(pod, App), ApplicationLog)
	aggLogs := exercise.AbsPaths(exercise.Container(pod, LogAggregator), ApplicationLog)
	holds := func(container string, paths []string, volume string) bool {
		if len(paths) == 0 {
			return true
		}
		for _, p := range paths {
			if m, ok := exercise.MountAt(pod, container, p); ok && m.Name == volume {
				return true
			}
		}
		return false
	}
	cands := exercise.SharedEmptyDirs(pod, App, LogAggregator)
	readOnly := ""
	for _, c := range cands {
		if !holds(App, appLogs, c.Name) || !holds(LogAggregator, aggLogs, c.Name) {
			continue
		}
		writable := false
		for _, m := range exercise.VolumeMounts(pod, App, c.Name) {
			writable = writable || !m.ReadOnly
		}
		if !writable {
			readOnly = c.Name
			continue
		}
		return fmt.Sprintf("emptyDir `%s` is mounted at %s in `%s` and at %s in `%s`",
			c.Name, c.MountPaths[App], App, c.MountPaths[LogAggregator], LogAggregator)
	}
	var seen []string
	for _, v := range exercise.EmptyDirVolumes(pod) {
		seen = append(seen, "emptyDir "+exercise.DescribeVolumeUse(pod, v, App, LogAggregator))
	}
	hint := fmt.Sprintf("mount one emptyDir volume in `%s` and `%s`, at the directory where the app writes %s and the aggregator reads it",
		App, LogAggregator, ApplicationLog)
	switch {
	case len(seen) == 0:
		seen = append(seen, "no emptyDir volume ("+exercise.DescribeVolumes(pod)+")")
		hint = fmt.Sprintf("declare a volume with `emptyDir: {}` and mount it in `%s` and `%s` at the directory of %s",
			App, LogAggregator, ApplicationLog)
	case readOnly != "":
		hint = fmt.Sprintf("drop `readOnly` from `%s`'s mount of `%s`: the app writes %s there", App, readOnly, ApplicationLog)
	case len(cands) > 0:
		for _, x := range []struct {
			c     string
			paths []string
		}{{App, appLogs}, {LogAggregator, aggLogs}} {
			if len(x.paths) > 0 {
				seen = append(seen, fmt.Sprintf("`%s`'s command names %s (%s)", x.c, strings.Join(x.paths, " and "),
					exercise.DescribeMounts(pod, x.c)))
			}
		}
		hint = fmt.Sprintf("mount the shared emptyDir where the commands read and write %s (or change the paths in the commands)", ApplicationLog)
	}
	fs.Add(strings.Join(seen, "; "), hint)
	return ""
}

// staticClaimMount checks that the claim is mounted, writable, at /persistent-logs in log-aggregator.
func staticClaimMount(fs *exercise.Findings, pod *corev1.Pod) string {
	vols := exercise.ClaimVolumes(pod, ClaimName)
	hint := fmt.Sprintf("add a volume with `persistentVolumeClaim: {claimName: %s}` and mount it in `%s` with `mountPath: %s` "+
		"(the lab's commands read %s/summary.log)", ClaimName, LogAggregator, PersistentDir, PersistentDir)
	var seen []string
	for _, v := range vols {
		m, ok := exercise.MountedAt(pod, LogAggregator, v, PersistentDir)
		vol := exercise.Volume(pod, v)
		switch {
		case !ok:
			seen = append(seen, "the claim's volume "+exercise.DescribeVolumeUse(pod, v, LogAggregator))
		case m.ReadOnly || (vol != nil && vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ReadOnly):
			seen = append(seen, fmt.Sprintf("the claim's volume `%s` is read-only in `%s`", v, LogAggregator))
			hint = fmt.Sprintf("drop `readOnly` from the claim's volume and mount: `%s` writes summary.log and errors.log there", LogAggregator)
		default:
			return fmt.Sprintf("the claim `%s` (volume `%s`) is mounted at %s in `%s`", ClaimName, v, PersistentDir, LogAggregator)
		}
	}
	if len(vols) == 0 {
		seen = append(seen, fmt.Sprintf("no volume uses the claim `%s` (%s)", ClaimName, exercise.DescribeVolumes(pod)))
	}
	fs.Add(strings.Join(seen, "; "), hint)
	return ""
}

func staticResources(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("cpu and memory requests on `%s` and `%s` (limits, where set, >= requests)", App, LogAggregator)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	exercise.CheckResources(&fs, pod, App, true, false)
	exercise.CheckResources(&fs, pod, LogAggregator, true, false)
	return fs.Verdict(expected, check.Pass("`%s`: %s; `%s`: %s",
		App, exercise.DescribeResources(exercise.Container(pod, App)),
		LogAggregator, exercise.DescribeResources(exercise.Container(pod, LogAggregator))))
}
