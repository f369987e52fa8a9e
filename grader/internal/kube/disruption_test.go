package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestNodeDisruption(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	node := func(name string, ready corev1.ConditionStatus, changed time.Duration) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: ready, Reason: "KubeletReady", LastTransitionTime: at(changed)}}}}
	}
	event := func(ns, name, kind, obj, reason, msg string, when time.Duration) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: obj}, Reason: reason, Message: msg, LastTimestamp: at(when)}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ex", Name: "web"}, Spec: corev1.PodSpec{NodeName: "worker"}}
	scheduled := event("ex", "s", "Pod", "web", "Scheduled", "Successfully assigned ex/web to worker", time.Second)
	healthy := []runtime.Object{pod, scheduled, node("worker", corev1.ConditionTrue, -time.Hour), node("other", corev1.ConditionFalse, 0),
		event("default", "old", "Node", "worker", "Starting", "Starting kubelet.", -time.Hour),
		event("default", "else", "Node", "other", "Starting", "Starting kubelet.", 5*time.Second)}

	for name, tc := range map[string]struct {
		objs []runtime.Object
		want []string // substrings; none: no disruption
	}{
		"a healthy node; another node's troubles are not this grading's": {objs: healthy},
		"the kubelet started during the grading": {
			objs: append(healthy, event("default", "new", "Node", "worker", "Starting", "Starting kubelet.", 20*time.Second)),
			want: []string{"node worker: Starting at 10:00:20 (Starting kubelet.)"}},
		"the pod's sandbox was re-created": {
			objs: append(healthy, event("ex", "sb", "Pod", "web", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.", 9*time.Second)),
			want: []string{"pod web's sandbox was killed and re-created at 10:00:09"}},
		"the node is NotReady": {
			objs: []runtime.Object{pod, node("worker", corev1.ConditionFalse, 3*time.Second)},
			want: []string{"node worker is not Ready"}},
		"the node became Ready again": {
			objs: []runtime.Object{scheduled, node("worker", corev1.ConditionTrue, 30*time.Second)},
			want: []string{"node worker became Ready again at 10:00:30"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := &Session{Namespace: "ex", Client: fake.NewClientset(tc.objs...)}
			got, err := s.NodeDisruption(context.Background(), t0)
			require.NoError(t, err)
			if len(tc.want) == 0 {
				assert.Empty(t, got)
			}
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
		})
	}

	cs := fake.NewClientset()
	cs.PrependReactor("list", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	})
	_, err := (&Session{Namespace: "ex", Client: cs}).NodeDisruption(context.Background(), t0)
	assert.True(t, IsInfra(err), "an API server that cannot be asked is a cluster failure: %v", err)
}
