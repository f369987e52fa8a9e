package exercise

import (
	"context"
	"fmt"
	"time"

	"github.com/sidecar-lab/grader/grader/internal/kube"
)

// StopPod deletes pod with its own grace period and measures how long it takes to go (adv.graceful-stop). A pod
// still there after the graceful-stop deadline is force-deleted, so a pod that ignores SIGTERM costs the
// grader the deadline, not the full grace period.
func (e *Env) StopPod(ctx context.Context, exercise, pod string) (time.Duration, error) {
	t0 := time.Now()
	// An explicit 30 s grace period (the Kubernetes default) so that a short terminationGracePeriodSeconds cannot
	// stand in for handling SIGTERM.
	grace := int64(30)
	if err := e.DeletePod(ctx, pod, &grace); err != nil {
		return 0, err
	}
	err := e.WaitGone(ctx, pod, e.Deadlines.GracefulStop.Duration)
	took := time.Since(t0)
	switch err {
	case nil:
		e.Stops.Add(Stop{Exercise: exercise, Pod: pod, Took: took, Gone: true})
		return took, nil
	case kube.ErrTimeout:
		e.Stops.Add(Stop{Exercise: exercise, Pod: pod, Took: took, Gone: false})
		zero := int64(0)
		if err := e.DeletePod(ctx, pod, &zero); err != nil {
			return took, err
		}
		if err := e.WaitGone(ctx, pod, 90*time.Second); err != nil {
			return took, kube.Infra("pod %s still exists 90 s after a forced deletion: %v", pod, err)
		}
		return took, nil
	default:
		return took, fmt.Errorf("waiting for pod %s to go: %w", pod, err)
	}
}
