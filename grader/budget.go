package grader

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
	"k8s.io/client-go/kubernetes"
)

// Budget shares what a cluster had free when a batch began (CPU and memory requests) among the exercises graded at
// once. An exercise takes its pods' requests from the budget before anything of it is applied and gives them back
// once its pods are stopped, so that no student's pod waits Pending for CPU or memory another grading holds: that
// wait would count against the student's ready deadline. A budget counts requests, not use, and knows nothing of
// other processes grading on the same cluster; on a multi-node cluster it is the nodes' free resources together,
// so a pod may still find no single node with room for it.
type Budget struct {
	cpu, mem *semaphore.Weighted
	total    Requests
}

// NewBudget returns a budget of total; a resource of zero or less is not budgeted (never waited for).
func NewBudget(total Requests) *Budget {
	b := &Budget{total: total}
	if total.MilliCPU > 0 {
		b.cpu = semaphore.NewWeighted(total.MilliCPU)
	}
	if total.Memory > 0 {
		b.mem = semaphore.NewWeighted(total.Memory)
	}
	return b
}

// Total is the size of the budget.
func (b *Budget) Total() Requests { return b.total }

// acquire takes need (each resource at most the whole budget, so that a hungry exercise runs once it is alone),
// calling waiting first when the budget cannot give it at once. The release it returns gives it back. CPU is always
// taken before memory, so two exercises never wait for each other.
func (b *Budget) acquire(ctx context.Context, need Requests, waiting func(need, total Requests)) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	need = need.atMost(b.total)
	type part struct {
		sem *semaphore.Weighted
		n   int64
	}
	parts := []part{{b.cpu, need.MilliCPU}, {b.mem, need.Memory}}
	var held []part
	releaseAll := func() {
		for _, p := range held {
			p.sem.Release(p.n)
		}
	}
	told := false
	for _, p := range parts {
		if p.sem == nil || p.n <= 0 {
			continue
		}
		if !p.sem.TryAcquire(p.n) {
			if waiting != nil && !told {
				waiting(need, b.total)
				told = true
			}
			if err := p.sem.Acquire(ctx, p.n); err != nil {
				releaseAll()
				return nil, err
			}
		}
		held = append(held, p)
	}
	return releaseAll, nil
}

// WithBudget makes Grade take each exercise's requests from b before applying it (GradeClass shares one budget
// among its submissions).
func WithBudget(b *Budget) Option { return func(o *Options) { o.Budget = b } }

// MeasureBudget returns a budget of what the cluster of opts has free now (allocatable on its Ready, schedulable
// nodes minus the requests of the pods not yet finished), and a sentence saying how it was measured.
func MeasureBudget(ctx context.Context, opts ...Option) (*Budget, string, error) {
	o := options(opts)
	if o.RESTConfig == nil {
		return nil, "", fmt.Errorf("no cluster configured")
	}
	cs, err := kubernetes.NewForConfig(o.RESTConfig)
	if err != nil {
		return nil, "", err
	}
	free, why, err := freeRequests(ctx, cs)
	if err != nil {
		return nil, "", err
	}
	return NewBudget(free), fmt.Sprintf("%s free (%s)", free, why), nil
}
