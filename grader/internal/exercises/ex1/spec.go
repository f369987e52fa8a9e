// Package ex1 is exercise 1 of Lab 7, the basic sidecar: nginx writes its access log to a shared emptyDir and a
// busybox sidecar prints each line as "[PROCESSED] <date> - <line>". spec.go declares the checks and evaluates the
// static ones; runtime.go holds the runtime scenario.
package ex1

import (
	"fmt"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// The names and images the lab fixes for exercise 1 (everything else is the student's choice).
const (
	PodName          = "web-with-sidecar"
	WebApp           = "web-app"
	Sidecar          = "log-sidecar"
	ContentConfigMap = "web-content"
	ContentKey       = "index.html"
	NginxImage       = "nginx:1.24-alpine"
	BusyboxImage     = "busybox:1.35"
	NginxLogDir      = "/var/log/nginx"
	NginxHTMLDir     = "/usr/share/nginx/html"
)

// Definition is exercise 1: its checks in rubric order and the evaluation of its static checks. Run is set by the
// runtime scenario.
var Definition = exercise.Definition{
	ID:    "ex1",
	Title: "Basic sidecar",
	File:  "basic-sidecar",
	Checks: []check.Spec{
		{ID: "ex1.manifest", Title: "The manifest declares the Pod and its web page ConfigMap.", Kind: result.Static, Points: 1},
		{ID: "ex1.containers", Title: "The containers run the lab's images.", Kind: result.Static, Points: 1},
		{ID: "ex1.shared-volume", Title: "An emptyDir volume carries nginx's logs to the sidecar.", Kind: result.Static, Points: 1},
		{ID: "ex1.content-volume", Title: "The web-content ConfigMap is nginx's web root.", Kind: result.Static, Points: 1},
		{ID: "ex1.resources", Title: "Both containers have cpu and memory requests and limits.", Kind: result.Static, Points: 1},
		{ID: "ex1.ready", Title: "The Pod becomes Ready.", Kind: result.Runtime, Points: 2},
		{ID: "ex1.serves-page", Title: "nginx serves the ConfigMap's page.", Kind: result.Runtime, Points: 2},
		{ID: "ex1.processed", Title: "The sidecar processes each request once, in order.", Kind: result.Runtime, Points: 3},
		{ID: "ex1.verbatim", Title: "The sidecar reproduces log lines byte for byte.", Kind: result.Runtime, Points: 1},
		{ID: "ex1.stable", Title: "No container restarts.", Kind: result.Runtime, Points: 1},
	},
	Static: map[string]exercise.StaticFunc{
		"ex1.manifest":       staticManifest,
		"ex1.containers":     staticContainers,
		"ex1.shared-volume":  staticSharedVolume,
		"ex1.content-volume": staticContentVolume,
		"ex1.resources":      staticResources,
	},
}

func staticManifest(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("the Pod `%s` and the ConfigMap `%s` with the key `%s`", PodName, ContentConfigMap, ContentKey)
	if v, bad := exercise.Unusable(f, expected); bad {
		return v
	}
	var fs exercise.Findings
	exercise.CheckDeclared(&fs, f, "Pod", PodName)
	if o := exercise.CheckDeclared(&fs, f, "ConfigMap", ContentConfigMap); o != nil {
		exercise.CheckConfigMapKeys(&fs, o.ConfigMap, ContentKey)
	}
	if !fs.Empty() {
		fs.Add("the file declares "+f.Describe(), "")
	}
	return fs.Verdict(expected, check.Pass("the file declares %s", f.Describe()))
}

func staticContainers(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("`%s` running `%s` with containerPort 80, and `%s` running `%s`", WebApp, NginxImage, Sidecar, BusyboxImage)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	exercise.CheckImage(&fs, pod, WebApp, NginxImage)
	exercise.CheckImage(&fs, pod, Sidecar, BusyboxImage)
	if c := exercise.Container(pod, WebApp); c != nil && !exercise.HasContainerPort(c, 80) {
		fs.Add(fmt.Sprintf("`%s` declares no TCP containerPort 80 (%s)", WebApp, exercise.DescribePorts(c.Ports)),
			"add `ports: [{containerPort: 80}]` to `web-app`: nginx listens on port 80")
	}
	return fs.Verdict(expected, check.Pass("`%s` runs %s on port 80; `%s` runs %s", WebApp, NginxImage, Sidecar, BusyboxImage))
}

func staticSharedVolume(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("one emptyDir volume mounted in both `%s` (at %s, writable) and `%s` (anywhere)", WebApp, NginxLogDir, Sidecar)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	if v := exercise.ContainersVerdict(pod, PodName, expected, WebApp, Sidecar); v != nil {
		return *v
	}
	var fs exercise.Findings
	desc := exercise.CheckSharedLogVolume(&fs, pod, NginxLogDir, WebApp, Sidecar)
	return fs.Verdict(expected, check.Pass("%s", desc))
}

func staticContentVolume(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("the ConfigMap `%s` mounted at %s in `%s` (so that %s/%s is its `%s`)",
		ContentConfigMap, NginxHTMLDir, WebApp, NginxHTMLDir, ContentKey, ContentKey)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	if v := exercise.ContainersVerdict(pod, PodName, expected, WebApp); v != nil {
		return *v
	}
	page := NginxHTMLDir + "/" + ContentKey
	if file, ok := exercise.ConfigMapFileAt(pod, WebApp, page); ok && file.ConfigMap == ContentConfigMap {
		return check.Pass("%s in `%s` is the key `%s` of the ConfigMap `%s` (volume `%s` at %s)",
			page, WebApp, file.Key, ContentConfigMap, file.Volume, file.Mount.MountPath)
	}
	hint := fmt.Sprintf("Add a volume with `configMap: {name: %s}` and mount it in `%s` with `mountPath: %s`.",
		ContentConfigMap, WebApp, NginxHTMLDir)
	return check.Fail(expected, exercise.DescribeConfigMapFile(pod, WebApp, page, ContentConfigMap), hint)
}

func staticResources(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("cpu and memory requests and limits on `%s` and `%s`, each limit >= its request", WebApp, Sidecar)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	exercise.CheckResources(&fs, pod, WebApp, true, true)
	exercise.CheckResources(&fs, pod, Sidecar, true, true)
	return fs.Verdict(expected, check.Pass("`%s`: %s; `%s`: %s",
		WebApp, exercise.DescribeResources(exercise.Container(pod, WebApp)),
		Sidecar, exercise.DescribeResources(exercise.Container(pod, Sidecar))))
}
