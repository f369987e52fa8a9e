package grader

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
	"k8s.io/client-go/kubernetes"

	"github.com/sidecar-lab/grader/grader/internal/submission"
)

// CPUBudget shares the CPU a cluster had free when a batch began among the exercises graded at once. An exercise
// takes its pods' CPU requests from the budget before anything of it is applied and gives them back once its pods
// are stopped, so that no student's pod waits Pending for CPU another grading holds: that wait would count against
// the student's ready deadline. A budget counts requests, not use, and knows nothing of other processes grading on
// the same cluster; on a multi-node cluster it is the nodes' free CPU together, so a pod may still find no single
// node with room for it.
type CPUBudget struct {
	sem   *semaphore.Weighted
	total int64
}

// NewCPUBudget returns a budget of milliCPU millicores; milliCPU <= 0 makes a budget that never waits.
func NewCPUBudget(milliCPU int64) *CPUBudget {
	b := &CPUBudget{total: milliCPU}
	if milliCPU > 0 {
		b.sem = semaphore.NewWeighted(milliCPU)
	}
	return b
}

// MilliCPU is the size of the budget in millicores.
func (b *CPUBudget) MilliCPU() int64 { return b.total }

// acquire takes need millicores (at most the whole budget, so that a hungry exercise runs once it is alone), calling
// waiting first when the budget cannot give them at once. The release it returns gives them back.
func (b *CPUBudget) acquire(ctx context.Context, need int64, waiting func(need, total int64)) (release func(), err error) {
	if b == nil || b.sem == nil || need <= 0 {
		return func() {}, nil
	}
	need = min(need, b.total)
	if !b.sem.TryAcquire(need) {
		if waiting != nil {
			waiting(need, b.total)
		}
		if err := b.sem.Acquire(ctx, need); err != nil {
			return nil, err
		}
	}
	return func() { b.sem.Release(need) }, nil
}

// WithCPUBudget makes Grade take each exercise's CPU requests from b before applying it (GradeClass shares one
// budget among its submissions).
func WithCPUBudget(b *CPUBudget) Option { return func(o *Options) { o.CPUBudget = b } }

// MeasureCPUBudget returns a budget of the CPU the cluster of opts has free now (allocatable on its Ready,
// schedulable nodes minus the requests of the pods not yet finished), and a sentence saying how it was measured.
func MeasureCPUBudget(ctx context.Context, opts ...Option) (*CPUBudget, string, error) {
	o := options(opts)
	if o.RESTConfig == nil {
		return nil, "", fmt.Errorf("no cluster configured")
	}
	cs, err := kubernetes.NewForConfig(o.RESTConfig)
	if err != nil {
		return nil, "", err
	}
	free, why, err := freeMilliCPU(ctx, cs)
	if err != nil {
		return nil, "", err
	}
	return NewCPUBudget(free), fmt.Sprintf("%.2f CPU free (%s)", float64(free)/1000, why), nil
}

// exerciseMilliCPU is the CPU an exercise's pods request together, as the scheduler counts them (a container
// without a request counts its limit, else the namespace's default request), and at most the namespace's quota.
func exerciseMilliCPU(f *submission.File) int64 {
	var sum int64
	for _, obj := range f.Objects {
		if obj.Pod != nil {
			sum += podMilliCPU(&obj.Pod.Spec, defaultRequestMilliCPU)
		}
	}
	return min(sum, quotaMilliCPU)
}
