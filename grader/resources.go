package grader

// What the grader's pods ask of the cluster, counted as the scheduler counts it: CPU and memory requests. Batch
// grading uses it twice: to choose how many submissions to grade at once (DefaultParallel), and to share what the
// cluster has free among the exercises running at once (Budget).

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// Requests are CPU (millicores) and memory (bytes) requests.
type Requests struct {
	MilliCPU int64
	Memory   int64
}

func (r Requests) add(o Requests) Requests {
	return Requests{r.MilliCPU + o.MilliCPU, r.Memory + o.Memory}
}

func (r Requests) atMost(o Requests) Requests {
	return Requests{min(r.MilliCPU, o.MilliCPU), min(r.Memory, o.Memory)}
}

func (r Requests) zero() bool { return r.MilliCPU <= 0 && r.Memory <= 0 }

// String is "0.33 CPU, 192Mi" (memory from 1 GiB on: "23.3Gi").
func (r Requests) String() string {
	mem := fmt.Sprintf("%dMi", r.Memory>>20)
	if r.Memory >= 1<<30 {
		mem = fmt.Sprintf("%.1fGi", float64(r.Memory)/(1<<30))
	}
	return fmt.Sprintf("%.2f CPU, %s", float64(r.MilliCPU)/1000, mem)
}

var (
	// FallbackSubmission is what DefaultParallel assumes one submission requests when none of the class's manifests
	// declares a pod it could read.
	FallbackSubmission = Requests{MilliCPU: 400, Memory: 256 << 20}

	// defaultRequest is what the exercise namespace's LimitRange gives a container that sets neither a request nor a
	// limit, and namespaceQuota the namespace's ResourceQuota on requests (createNamespace): what one exercise
	// can hold at most.
	defaultRequest = Requests{MilliCPU: 25, Memory: 32 << 20}
	namespaceQuota = Requests{MilliCPU: 1000, Memory: 1 << 30}
)

// podRequests is what a pod requests, as the scheduler counts it: its containers (and sidecar init containers)
// together, or its largest init container if that is more, plus its overhead. A container without a request
// counts its limit (the API server defaults the request to it), else dflt.
func podRequests(spec *corev1.PodSpec, dflt Requests) Requests {
	one := func(r corev1.ResourceRequirements, name corev1.ResourceName, dflt int64, milli bool) int64 {
		q, ok := r.Requests[name]
		if !ok {
			if q, ok = r.Limits[name]; !ok {
				return dflt
			}
		}
		if milli {
			return q.MilliValue()
		}
		return q.Value()
	}
	req := func(r corev1.ResourceRequirements) Requests {
		return Requests{one(r, corev1.ResourceCPU, dflt.MilliCPU, true), one(r, corev1.ResourceMemory, dflt.Memory, false)}
	}
	var sum, initMax Requests
	for _, c := range spec.Containers {
		sum = sum.add(req(c.Resources))
	}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum = sum.add(req(c.Resources))
		} else {
			r := req(c.Resources)
			initMax = Requests{max(initMax.MilliCPU, r.MilliCPU), max(initMax.Memory, r.Memory)}
		}
	}
	total := Requests{max(sum.MilliCPU, initMax.MilliCPU), max(sum.Memory, initMax.Memory)}
	if q, ok := spec.Overhead[corev1.ResourceCPU]; ok {
		total.MilliCPU += q.MilliValue()
	}
	if q, ok := spec.Overhead[corev1.ResourceMemory]; ok {
		total.Memory += q.Value()
	}
	return total
}

// exerciseRequests is what an exercise's pods request together, at most the namespace's quota.
func exerciseRequests(f *submission.File) Requests {
	var sum Requests
	for _, obj := range f.Objects {
		if obj.Pod != nil {
			sum = sum.add(podRequests(&obj.Pod.Spec, defaultRequest))
		}
	}
	return sum.atMost(namespaceQuota)
}

// classRequest is what a typical submission of dir requests (the median, of CPU and of memory apart, over the
// submissions that declare a pod), and a phrase saying so. GradeClass's Budget, not this, keeps a hungrier
// submission from starting while others hold what it needs.
func classRequest(dir string, o *Options) (Requests, string) {
	names, _ := ListSubmissions(dir)
	var cpus, mems []int64
	for _, n := range names {
		var sum Requests
		for _, d := range Exercises() {
			if len(o.Exercises) > 0 && !contains(o.Exercises, d.ID) {
				continue
			}
			f := submission.Load(filepath.Join(dir, n), d.File, o.Limits)
			if f.Err != nil {
				continue // refused or unreadable: nothing of it runs
			}
			sum = sum.add(exerciseRequests(f))
		}
		if !sum.zero() {
			cpus, mems = append(cpus, sum.MilliCPU), append(mems, sum.Memory)
		}
	}
	if len(cpus) == 0 {
		return FallbackSubmission, "no pod found in the manifests: the fallback"
	}
	slices.Sort(cpus)
	slices.Sort(mems)
	return Requests{cpus[len(cpus)/2], mems[len(mems)/2]}, fmt.Sprintf("the median of %d submissions", len(cpus))
}

// clusterParallel is DefaultParallel on the cluster cs.
func clusterParallel(ctx context.Context, cs kubernetes.Interface, dir string, o *Options) (int, string, error) {
	per, who := classRequest(dir, o)
	free, why, err := freeRequests(ctx, cs)
	if err != nil {
		return 1, "the cluster's free resources could not be measured", err
	}
	fit := float64(free.MilliCPU) / float64(max(per.MilliCPU, 1))
	if m := float64(free.Memory) / float64(max(per.Memory, 1)); m < fit {
		fit = m
	}
	n := clampParallel(int(fit))
	return n, fmt.Sprintf("%s free (%s) ÷ %s requested per submission (%s) = %.1f, kept within 1..%d",
		free, why, per, who, fit, MaxDefaultParallel), nil
}

// freeRequests is what the Ready, schedulable nodes have allocatable minus the requests of the pods that are bound
// to them or not yet bound, and not finished.
func freeRequests(ctx context.Context, cs kubernetes.Interface) (Requests, string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nl, err := cs.CoreV1().Nodes().List(cctx, metav1.ListOptions{})
	if err != nil {
		return Requests{}, "", fmt.Errorf("list nodes: %w", err)
	}
	nodes := map[string]bool{}
	var alloc Requests
	for _, n := range nl.Items {
		if !schedulable(&n) {
			continue
		}
		nodes[n.Name] = true
		cpu, mem := n.Status.Allocatable[corev1.ResourceCPU], n.Status.Allocatable[corev1.ResourceMemory]
		alloc = alloc.add(Requests{cpu.MilliValue(), mem.Value()})
	}
	if len(nodes) == 0 {
		return Requests{}, "", fmt.Errorf("no Ready, schedulable node among %d", len(nl.Items))
	}
	pl, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(cctx, metav1.ListOptions{
		FieldSelector: "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)})
	if err != nil {
		return Requests{}, "", fmt.Errorf("list pods: %w", err)
	}
	var used Requests
	pods := 0
	for _, p := range pl.Items {
		if p.Spec.NodeName != "" && !nodes[p.Spec.NodeName] {
			continue
		}
		used = used.add(podRequests(&p.Spec, Requests{}))
		pods++
	}
	free := Requests{max(alloc.MilliCPU-used.MilliCPU, 0), max(alloc.Memory-used.Memory, 0)}
	return free, fmt.Sprintf("%s allocatable on %d node(s) − %s requested by %d pods", alloc, len(nodes), used, pods), nil
}

// schedulable reports whether new pods can land on n: Ready, not cordoned, no NoSchedule or NoExecute taint.
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
