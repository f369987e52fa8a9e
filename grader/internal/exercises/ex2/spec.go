// Package ex2 is exercise 2 of Lab 7, advanced log processing: nginx with a custom configuration, a Python
// processor turning access-log lines into JSON records and alerts, and a busybox forwarder counting lines.
// spec.go declares the checks and evaluates the static ones; runtime.go holds the runtime scenario.
package ex2

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/submission"
	"github.com/sidecar-lab/grader/grader/result"
)

// The names, images and paths the lab fixes for exercise 2 (everything else is the student's choice).
const (
	PodName            = "advanced-sidecar-demo"
	WebApp             = "web-app"
	LogProcessor       = "log-processor"
	LogForwarder       = "log-forwarder"
	ProcessorConfigMap = "log-processor-config"
	ProcessorKey       = "processor.py"
	NginxConfigMap     = "nginx-custom-config"
	NginxConfKey       = "nginx.conf"
	NginxImage         = "nginx:1.24-alpine"
	PythonImage        = "python:3.11-alpine"
	BusyboxImage       = "busybox:1.35"
	NginxLogDir        = "/var/log/nginx"
	NginxConfPath      = "/etc/nginx/conf.d/default.conf"
)

// Definition is exercise 2: its checks in rubric order and the evaluation of its static checks. Run is set by the
// runtime scenario.
var Definition = exercise.Definition{
	ID:    "ex2",
	Title: "Advanced log processing",
	File:  "advanced-sidecar",
	Checks: []check.Spec{
		{ID: "ex2.manifest", Title: "The manifest declares both ConfigMaps and the Pod.", Kind: result.Static, Points: 1},
		{ID: "ex2.containers", Title: "The containers run the lab's images.", Kind: result.Static, Points: 1},
		{ID: "ex2.volumes", Title: "The logs, nginx's configuration and the processor script are mounted where they are used.", Kind: result.Static, Points: 1},
		{ID: "ex2.resources", Title: "Every container has requests and the processor has limits.", Kind: result.Static, Points: 1},
		{ID: "ex2.ready", Title: "The Pod becomes Ready.", Kind: result.Runtime, Points: 2},
		{ID: "ex2.routes", Title: "nginx answers /, /api and /error as configured.", Kind: result.Runtime, Points: 2},
		{ID: "ex2.api-content-type", Title: "/api sends a single JSON Content-Type.", Kind: result.Runtime, Points: 1},
		{ID: "ex2.records", Title: "The processor emits one JSON record per request.", Kind: result.Runtime, Points: 3},
		{ID: "ex2.severity", Title: "Records carry the right severity.", Kind: result.Runtime, Points: 2},
		{ID: "ex2.alerts", Title: "Each 5xx request raises exactly one alert.", Kind: result.Runtime, Points: 2},
		{ID: "ex2.alert-stream", Title: "Alerts go to stderr and records to stdout.", Kind: result.Runtime, Points: 1},
		{ID: "ex2.forwarder", Title: "The forwarder's counts match the access log.", Kind: result.Runtime, Points: 2},
		{ID: "ex2.stable", Title: "No container restarts.", Kind: result.Runtime, Points: 1},
	},
	Static: map[string]exercise.StaticFunc{
		"ex2.manifest":   staticManifest,
		"ex2.containers": staticContainers,
		"ex2.volumes":    staticVolumes,
		"ex2.resources":  staticResources,
	},
}

func staticManifest(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("the ConfigMaps `%s` (key `%s`) and `%s` (key `%s`), and the Pod `%s`",
		ProcessorConfigMap, ProcessorKey, NginxConfigMap, NginxConfKey, PodName)
	if v, bad := exercise.Unusable(f, expected); bad {
		return v
	}
	var fs exercise.Findings
	if o := exercise.CheckDeclared(&fs, f, "ConfigMap", ProcessorConfigMap); o != nil {
		exercise.CheckConfigMapKeys(&fs, o.ConfigMap, ProcessorKey)
	}
	if o := exercise.CheckDeclared(&fs, f, "ConfigMap", NginxConfigMap); o != nil {
		exercise.CheckConfigMapKeys(&fs, o.ConfigMap, NginxConfKey)
	}
	exercise.CheckDeclared(&fs, f, "Pod", PodName)
	if !fs.Empty() {
		fs.Add("the file declares "+f.Describe(), "")
	}
	return fs.Verdict(expected, check.Pass("the file declares %s", f.Describe()))
}

func staticContainers(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("`%s` running `%s`, `%s` running `%s`, `%s` running `%s`",
		WebApp, NginxImage, LogProcessor, PythonImage, LogForwarder, BusyboxImage)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	exercise.CheckImage(&fs, pod, WebApp, NginxImage)
	exercise.CheckImage(&fs, pod, LogProcessor, PythonImage)
	exercise.CheckImage(&fs, pod, LogForwarder, BusyboxImage)
	return fs.Verdict(expected, check.Pass("`%s` runs %s, `%s` runs %s, `%s` runs %s",
		WebApp, NginxImage, LogProcessor, PythonImage, LogForwarder, BusyboxImage))
}

func staticVolumes(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("one emptyDir mounted in `%s` (at %s), `%s` and `%s`; the key `%s` of `%s` mounted as %s "+
		"(subPath); the key `%s` of `%s` mounted at the path `%s` runs",
		WebApp, NginxLogDir, LogProcessor, LogForwarder, NginxConfKey, NginxConfigMap, NginxConfPath,
		ProcessorKey, ProcessorConfigMap, LogProcessor)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	if v := exercise.ContainersVerdict(pod, PodName, expected, WebApp, LogProcessor, LogForwarder); v != nil {
		return *v
	}
	var fs exercise.Findings
	var passed []string

	// The shared log volume.
	if desc := exercise.CheckSharedLogVolume(&fs, pod, NginxLogDir, WebApp, LogProcessor, LogForwarder); desc != "" {
		passed = append(passed, desc)
	}

	// nginx's configuration.
	if file, ok := exercise.ConfigMapFileAt(pod, WebApp, NginxConfPath); ok && file.ConfigMap == NginxConfigMap && file.Key == NginxConfKey {
		passed = append(passed, fmt.Sprintf("%s is the key `%s` of `%s`", NginxConfPath, NginxConfKey, NginxConfigMap))
	} else {
		fs.Add(exercise.DescribeConfigMapFile(pod, WebApp, NginxConfPath, NginxConfigMap),
			fmt.Sprintf("mount the ConfigMap `%s`'s volume in `%s` with `mountPath: %s` and `subPath: %s`",
				NginxConfigMap, WebApp, NginxConfPath, NginxConfKey))
	}

	// The processor script, where log-processor runs it.
	if msg, seen, hint := staticScript(f, pod); seen == "" {
		passed = append(passed, msg)
	} else {
		fs.Add(seen, hint)
	}
	return fs.Verdict(expected, check.Pass("%s", strings.Join(passed, "; ")))
}

// staticScript finds the .py file log-processor runs and checks that the processor key provides it. It returns a
// pass message, or what was seen and a hint.
func staticScript(f *submission.File, pod *corev1.Pod) (msg, seen, hint string) {
	c := exercise.Container(pod, LogProcessor)
	mountHint := fmt.Sprintf("mount the ConfigMap `%s` in `%s` (e.g. at /scripts) and run the script from there "+
		"(e.g. `command: [python, /scripts/%s]`)", ProcessorConfigMap, LogProcessor, ProcessorKey)
	scripts := exercise.ScriptPaths(c, ".py")
	if len(scripts) == 0 {
		return "", fmt.Sprintf("`%s` runs %s, which names no .py file", LogProcessor, exercise.DescribeCommand(c)), mountHint
	}
	var notes []string
	for _, p := range scripts {
		file, ok := exercise.ConfigMapFileAt(pod, LogProcessor, p)
		if !ok || file.ConfigMap != ProcessorConfigMap || file.Key != ProcessorKey {
			notes = append(notes, exercise.DescribeConfigMapFile(pod, LogProcessor, p, ProcessorConfigMap))
			continue
		}
		if exercise.Executable(c) == p || exercise.CleanPath(exercise.Executable(c)) == p {
			// The script is executed directly: it needs an execute bit and a #! line.
			if file.Mode&0o111 == 0 {
				return "", fmt.Sprintf("`%s` executes %s directly, but its mode is %#o (not executable)", LogProcessor, p, file.Mode),
					fmt.Sprintf("run it as `python %s`, or set `defaultMode: 0755` on the volume", p)
			}
			if cm := f.ConfigMap(ProcessorConfigMap); cm != nil && !strings.HasPrefix(cm.Data[ProcessorKey], "#!") {
				return "", fmt.Sprintf("`%s` executes %s directly, but the script has no #! line", LogProcessor, p),
					fmt.Sprintf("run it as `python %s`, or start the script with `#!/usr/bin/env python3`", p)
			}
		}
		return fmt.Sprintf("`%s` runs %s, the key `%s` of `%s` (volume `%s`)", LogProcessor, p, ProcessorKey, ProcessorConfigMap, file.Volume), "", ""
	}
	return "", fmt.Sprintf("`%s` runs %s, but %s", LogProcessor, strings.Join(scripts, " and "), strings.Join(notes, "; ")), mountHint
}

func staticResources(f *submission.File) check.Verdict {
	expected := fmt.Sprintf("cpu and memory requests on every container, cpu and memory limits on `%s`, each limit >= its request", LogProcessor)
	pod, v := exercise.RequirePod(f, PodName)
	if pod == nil {
		return v
	}
	var fs exercise.Findings
	for _, name := range []string{WebApp, LogProcessor, LogForwarder} {
		exercise.CheckResources(&fs, pod, name, true, name == LogProcessor)
	}
	for _, name := range exercise.ContainerNames(pod) {
		if name != WebApp && name != LogProcessor && name != LogForwarder {
			exercise.CheckResources(&fs, pod, name, true, false)
		}
	}
	return fs.Verdict(expected, check.Pass("every container has requests; `%s`: %s",
		LogProcessor, exercise.DescribeResources(exercise.Container(pod, LogProcessor))))
}
