package grader

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sidecar-lab/grader/grader/internal/submission"
)

const mi = 1 << 20

// res is a ResourceList of cpu and memory ("" leaves one out).
func res(cpu, mem string) corev1.ResourceList {
	l := corev1.ResourceList{}
	if cpu != "" {
		l[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		l[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return l
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	c := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	sidecar := c(res("30m", "10Mi"), nil)
	sidecar.RestartPolicy = &always
	for name, tc := range map[string]struct {
		spec corev1.PodSpec
		want Requests
	}{
		"requests": {corev1.PodSpec{Containers: []corev1.Container{c(res("50m", "32Mi"), res("100m", "64Mi")), c(res("25m", "16Mi"), nil)}},
			Requests{75, 48 * mi}},
		"a limit stands for a request": {corev1.PodSpec{Containers: []corev1.Container{c(nil, res("200m", "1Gi"))}}, Requests{200, 1024 * mi}},
		"neither: the default":         {corev1.PodSpec{Containers: []corev1.Container{c(nil, nil), c(nil, nil)}}, Requests{50, 64 * mi}},
		"one of the two set":           {corev1.PodSpec{Containers: []corev1.Container{c(res("100m", ""), res("", "128Mi"))}}, Requests{100, 128 * mi}},
		"a big init container": {corev1.PodSpec{InitContainers: []corev1.Container{c(res("1", "8Mi"), nil)},
			Containers: []corev1.Container{c(res("100m", "64Mi"), nil)}}, Requests{1000, 64 * mi}},
		"a sidecar init container": {corev1.PodSpec{InitContainers: []corev1.Container{sidecar},
			Containers: []corev1.Container{c(res("100m", "64Mi"), nil)}}, Requests{130, 74 * mi}},
		"overhead": {corev1.PodSpec{Containers: []corev1.Container{c(res("100m", "64Mi"), nil)}, Overhead: res("10m", "1Mi")},
			Requests{110, 65 * mi}},
	} {
		assert.Equal(t, tc.want, podRequests(&tc.spec, Requests{25, 32 * mi}), name)
	}
}

func TestClassRequest(t *testing.T) {
	dir := class(t)
	got, who := classRequest(dir, options(nil))
	// reference: ex1 50m+25m, ex2 50m+100m+25m, ex3 50m+25m = 325m; memory 32+16, 32+64+16, 32+16 Mi = 208Mi.
	// missing-persistent has no ex3.
	assert.Equal(t, Requests{325, 208 * mi}, got)
	assert.Equal(t, "the median of 4 submissions", who)
	got, _ = classRequest(dir, options([]Option{WithExercises("ex1")}))
	assert.Equal(t, Requests{75, 48 * mi}, got)

	// One hungry submission does not set the pace of the class (the Budget holds it back instead); its exercises
	// count at most their namespace's quota.
	hungry := filepath.Join(dir, "hungry")
	require.NoError(t, os.Mkdir(hungry, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hungry, "basic-sidecar.yaml"), []byte(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - {name: c, image: busybox:1.35, resources: {requests: {cpu: "7", memory: 9Gi}}}
`), 0o644))
	f := submission.Load(hungry, "basic-sidecar", submission.DefaultLimits)
	require.NoError(t, f.Err)
	assert.Equal(t, namespaceQuota, exerciseRequests(f))
	got, who = classRequest(dir, options(nil))
	assert.Equal(t, Requests{325, 208 * mi}, got)
	assert.Equal(t, "the median of 5 submissions", who)

	empty := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(empty, "nobody"), 0o755))
	got, who = classRequest(empty, options(nil))
	assert.Equal(t, FallbackSubmission, got)
	assert.Contains(t, who, "fallback")
}

func node(name, cpu, mem string, ready bool, taints ...corev1.Taint) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Allocatable: res(cpu, mem), Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
}

func pod(ns, name, nodeName, cpu, mem string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: nodeName,
		Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: res(cpu, mem)}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func TestClusterParallel(t *testing.T) {
	dir := class(t)
	cs := fake.NewClientset(
		node("worker", "2", "16Gi", true),
		node("tainted", "8", "64Gi", true, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}),
		node("down", "8", "64Gi", false),
		pod("kube-system", "apiserver", "worker", "750m", "1Gi"),
		pod("other", "elsewhere", "tainted", "4", "8Gi"),
		pod("other", "pending", "", "100m", "1Gi"),
	)
	n, why, err := clusterParallel(context.Background(), cs, dir, options(nil))
	require.NoError(t, err)
	// CPU: (2000m - 750m - 100m) / 325m = 3.5; memory: 14Gi / 208Mi = 68.9.
	assert.Equal(t, 3, n)
	assert.Equal(t, "1.15 CPU, 14.0Gi free (2.00 CPU, 16.0Gi allocatable on 1 node(s) − 0.85 CPU, 2.0Gi requested by 2 pods) ÷ "+
		"0.33 CPU, 208Mi requested per submission (the median of 4 submissions) = 3.5, kept within 1..4", why)

	tight := fake.NewClientset(node("small", "64", "600Mi", true))
	n, why, err = clusterParallel(context.Background(), tight, dir, options(nil))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "memory allows fewer than CPU: %s", why)

	big := fake.NewClientset(node("big", "64", "256Gi", true))
	n, why, err = clusterParallel(context.Background(), big, dir, options(nil))
	require.NoError(t, err)
	assert.Equal(t, MaxDefaultParallel, n, why)

	full := fake.NewClientset(node("full", "1", "1Gi", true), pod("a", "b", "full", "1500m", "2Gi"))
	n, why, err = clusterParallel(context.Background(), full, dir, options(nil))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "at least one, even on a full cluster: %s", why)

	none := fake.NewClientset(node("down", "8", "8Gi", false))
	n, _, err = clusterParallel(context.Background(), none, dir, options(nil))
	assert.ErrorContains(t, err, "no Ready, schedulable node")
	assert.Equal(t, 1, n)
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(Requests{1000, 1000 * mi})
	var waited []Requests
	wait := func(need, total Requests) { waited = append(waited, need) }
	r1, err := b.acquire(ctx, Requests{600, 100 * mi}, wait)
	require.NoError(t, err)
	r2, err := b.acquire(ctx, Requests{400, 100 * mi}, wait)
	require.NoError(t, err)
	assert.Empty(t, waited, "1000m fit in the budget without waiting")

	got := make(chan struct{})
	go func() {
		r3, err := b.acquire(ctx, Requests{5000, 10 * mi}, wait) // more CPU than the budget: runs alone, holding all of it
		if err == nil {
			close(got)
			r3()
		}
	}()
	select {
	case <-got:
		t.Fatal("an exercise started while others held the CPU it needs")
	case <-time.After(100 * time.Millisecond):
	}
	r1()
	select {
	case <-got:
		t.Fatal("an exercise needing the whole budget started while 400m were still held")
	case <-time.After(100 * time.Millisecond):
	}
	r2()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the hungry exercise never started once the budget was free")
	}
	assert.Equal(t, []Requests{{1000, 10 * mi}}, waited, "the wait is reported once, with the need capped at the budget")

	// Memory is budgeted as well: CPU to spare does not let an exercise start without the memory it needs.
	hold, err := b.acquire(ctx, Requests{10, 900 * mi}, nil)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = b.acquire(short, Requests{10, 200 * mi}, nil)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded, "200Mi do not fit beside 900Mi of 1000Mi")
	hold()
	r, err := b.acquire(ctx, Requests{1000, 1000 * mi}, nil)
	require.NoError(t, err, "a failed acquire gave back the CPU it had taken")
	r()

	var none *Budget
	r, err = none.acquire(ctx, Requests{1 << 40, 1 << 40}, nil)
	require.NoError(t, err)
	r()
	r, err = NewBudget(Requests{}).acquire(ctx, Requests{100, mi}, func(Requests, Requests) { t.Error("a zero budget never waits") })
	require.NoError(t, err)
	r()
}
