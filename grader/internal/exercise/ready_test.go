package exercise

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sidecar-lab/grader/grader/cluster"
	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/result"
)

func TestLabImagesMatchTheCluster(t *testing.T) {
	assert.Equal(t, cluster.LabImages, LabImages, "the images the cluster loads are the ones a pod may expect on the node")
}

func TestLabImage(t *testing.T) {
	for in, want := range map[string]string{
		"nginx:1.24-alpine":                          "nginx:1.24-alpine",
		"docker.io/library/nginx:1.24-alpine":        "nginx:1.24-alpine",
		"docker.io/nginx:1.24-alpine":                "nginx:1.24-alpine",
		"library/busybox:1.35":                       "busybox:1.35",
		"index.docker.io/library/python:3.11-alpine": "python:3.11-alpine",
		"busybox:1.35":                               "busybox:1.35",
		"nginx:1.25-alpine":                          "",
		"nginx":                                      "",
		"busybox":                                    "",
		"quay.io/library/busybox:1.35":               "",
		"ghcr.io/student/nginx:1.24-alpine":          "",
		"nginx:1.24-alpine@sha256:0123":              "",
		"":                                           "",
	} {
		assert.Equal(t, want, LabImage(in), in)
	}
}

// waitingPod is a pod of two containers, never Ready: web-app waits with reason (and image), the sidecar runs.
func waitingPod(image string, policy corev1.PullPolicy, reason, msg string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-with-sidecar", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "web-app", Image: image, ImagePullPolicy: policy},
			{Name: "log-sidecar", Image: "busybox:1.35"},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web-app", Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}},
			{Name: "log-sidecar", Image: "busybox:1.35", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		}},
	}
}

// fakeEnv is an Env on a fake clientset holding objs.
func fakeEnv(objs ...k8sruntime.Object) *Env {
	cs := fake.NewClientset(objs...)
	return &Env{Session: &kube.Session{Namespace: "ns", Client: cs, MaxLogBytes: 1 << 20, MaxExecBytes: 1 << 20},
		Rec: check.NewRecorder(nil), Stops: &StopLog{}, Logf: func(string, ...any) {}}
}

// TestCheckReadyMissingLabImage drives CheckReady on a fake clientset: a lab image the node lacks is the grading
// cluster's fault (an InfraError, nothing recorded); a student's other image or a crash is the student's failure.
func TestCheckReadyMissingLabImage(t *testing.T) {
	tests := []struct {
		name    string
		pod     *corev1.Pod
		infra   string // a part of the InfraError's message; "" = a failed check
		hint    string // a part of the failed check's hint
		noInfra bool
	}{
		{name: "lab image never pulled", pod: waitingPod("nginx:1.24-alpine", corev1.PullNever, "ErrImageNeverPull",
			`Container image "nginx:1.24-alpine" is not present with pull policy of Never`),
			infra: "image nginx:1.24-alpine is not on the node: run make cluster to load it"},
		{name: "lab image, long form, in back-off", pod: waitingPod("docker.io/library/nginx:1.24-alpine", corev1.PullIfNotPresent,
			"ImagePullBackOff", `Back-off pulling image "docker.io/library/nginx:1.24-alpine"`),
			infra: "image nginx:1.24-alpine is not on the node"},
		{name: "lab image, pull error", pod: waitingPod("nginx:1.24-alpine", "", "ErrImagePull", "dial tcp: lookup registry-1.docker.io: no such host"),
			infra: "container web-app of pod web-with-sidecar waits: ErrImagePull"},
		{name: "lab image with imagePullPolicy Always", pod: waitingPod("nginx:1.24-alpine", corev1.PullAlways, "ErrImagePull", "no registry"),
			infra: "imagePullPolicy Always"},
		{name: "the student's other tag", pod: waitingPod("nginx:1.25-alpine", "", "ErrImagePull", "not found"),
			hint: "use exactly the image the lab names"},
		{name: "the student's typo", pod: waitingPod("ngnix:1.24-alpine", "", "ImagePullBackOff", "not found"),
			hint: "use exactly the image the lab names"},
		{name: "a crash", pod: waitingPod("nginx:1.24-alpine", "", "CrashLoopBackOff", "back-off 10s"),
			hint: "exits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := fakeEnv(tt.pod)
			ok, err := e.CheckReady(context.Background(), "ex1.ready", "web-with-sidecar", 1200*time.Millisecond, nil)
			assert.False(t, ok)
			if tt.infra != "" {
				require.Error(t, err)
				assert.True(t, kube.IsInfra(err), "%v", err)
				assert.Contains(t, err.Error(), tt.infra)
				assert.False(t, e.Rec.Has("ex1.ready"), "nothing is recorded: the grader makes the check an error")
				return
			}
			require.NoError(t, err)
			v, has := e.Rec.Get("ex1.ready")
			require.True(t, has)
			assert.Equal(t, result.Failed, v.Status)
			assert.Contains(t, v.Hint, tt.hint)
		})
	}
}

// TestCheckReadyDiagnose: a Diagnose that blames the cluster ends the check as an error; one that blames the
// student gives the failure its hint.
func TestCheckReadyDiagnose(t *testing.T) {
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.35"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Message: "pod has unbound immediate PersistentVolumeClaims"}}}}
	t.Run("the cluster's", func(t *testing.T) {
		e := fakeEnv(pending)
		_, err := e.CheckReadyWith(context.Background(), ReadyCheck{ID: "x.ready", Pod: "p", Deadline: time.Second,
			Diagnose: func(ctx context.Context, p *corev1.Pod) (string, error) {
				require.NotNil(t, p)
				return "", kube.Infra("no default StorageClass")
			}})
		assert.True(t, kube.IsInfra(err))
		assert.False(t, e.Rec.Has("x.ready"))
	})
	t.Run("the student's", func(t *testing.T) {
		e := fakeEnv(pending)
		ok, err := e.CheckReadyWith(context.Background(), ReadyCheck{ID: "x.ready", Pod: "p", Deadline: time.Second,
			Diagnose: func(context.Context, *corev1.Pod) (string, error) { return "name an existing StorageClass", nil }})
		require.NoError(t, err)
		assert.False(t, ok)
		v, _ := e.Rec.Get("x.ready")
		assert.Equal(t, result.Failed, v.Status)
		assert.Equal(t, "name an existing StorageClass", v.Hint)
		assert.Contains(t, v.Message, "unbound immediate PersistentVolumeClaims")
	})
	t.Run("Extra's InfraError", func(t *testing.T) {
		ready := pending.DeepCopy()
		ready.Status = corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
		e := fakeEnv(ready)
		_, err := e.CheckReadyWith(context.Background(), ReadyCheck{ID: "x.ready", Pod: "p", Deadline: time.Second,
			Extra: func(context.Context) (string, bool, error) {
				return "", false, kube.Infra("get PVC: connection refused")
			}})
		assert.True(t, kube.IsInfra(err))
		assert.False(t, e.Rec.Has("x.ready"))
	})
}
