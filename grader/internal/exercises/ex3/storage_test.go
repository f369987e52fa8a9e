package ex3

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/sidecar-lab/grader/grader/internal/check"
	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/rubric"
	"github.com/sidecar-lab/grader/grader/result"
)

// kind's default StorageClass: local-path, binding on first use.
func standard(isDefault bool) *storagev1.StorageClass {
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "rancher.io/local-path", VolumeBindingMode: &wait}
	if isDefault {
		sc.Annotations = map[string]string{annDefaultClass: "true"}
	}
	return sc
}

func immediate(name string) *storagev1.StorageClass {
	mode := storagev1.VolumeBindingImmediate
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "example.com/broken", VolumeBindingMode: &mode}
}

// pendingClaim is the lab's claim, still Pending; class is its storageClassName as the API server stored it (nil:
// there was no default class when it was created).
func pendingClaim(class *string, edit ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: "ns"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	for _, f := range edit {
		f(pvc)
	}
	return pvc
}

func ptr(s string) *string { return &s }

func selected(pvc *corev1.PersistentVolumeClaim) {
	pvc.Annotations = map[string]string{annSelectedNode: "sidecar-lab-control-plane"}
}

func TestClaimVerdict(t *testing.T) {
	events := []string{"04:00:00 Normal WaitForFirstConsumer: waiting for first consumer to be created before binding",
		"04:00:05 Warning ProvisioningFailed: failed to provision volume: helper pod failed"}
	tests := []struct {
		name    string
		pvc     *corev1.PersistentVolumeClaim
		classes []storagev1.StorageClass
		infra   string // part of the InfraError; "" = the student's, with hint
		hint    string
	}{
		{name: "no default StorageClass (no class, none in the cluster)", pvc: pendingClaim(nil),
			infra: "the grading cluster has no default StorageClass (it has no StorageClass at all)"},
		{name: "no default StorageClass (classes, none default)", pvc: pendingClaim(nil), classes: []storagev1.StorageClass{*standard(false)},
			infra: "has no default StorageClass (it has StorageClasses standard)"},
		{name: "created before the default existed", pvc: pendingClaim(nil), classes: []storagev1.StorageClass{*standard(true)},
			infra: "had no default StorageClass (now standard is)"},
		{name: "the default class's provisioner is broken", pvc: pendingClaim(ptr("standard"), selected), classes: []storagev1.StorageClass{*standard(true)},
			infra: "the cluster's provisioner rancher.io/local-path did not create a volume"},
		{name: "an immediate class whose provisioner is broken", pvc: pendingClaim(ptr("fast")), classes: []storagev1.StorageClass{*standard(true), *immediate("fast")},
			infra: "provisioner example.com/broken"},
		{name: "the student names a class that does not exist", pvc: pendingClaim(ptr("gp2")), classes: []storagev1.StorageClass{*standard(true)},
			hint: `names StorageClass "gp2", which does not exist on the grading cluster (it has StorageClasses standard)`},
		{name: "the student names a class through the beta annotation", classes: []storagev1.StorageClass{*standard(true)},
			pvc: pendingClaim(nil, func(p *corev1.PersistentVolumeClaim) {
				p.Annotations = map[string]string{annBetaClass: "premium-rwo"}
			}),
			hint: `names StorageClass "premium-rwo"`},
		{name: "the student asks for no class", pvc: pendingClaim(ptr("")), classes: []storagev1.StorageClass{*standard(true)},
			hint: `storageClassName: ""`},
		{name: "the student asks for ReadWriteMany", classes: []storagev1.StorageClass{*standard(true)},
			pvc: pendingClaim(ptr("standard"), selected, func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			}),
			hint: "asks for access mode ReadWriteMany"},
		{name: "the student's selector", classes: []storagev1.StorageClass{*standard(true)},
			pvc: pendingClaim(ptr("standard"), selected, func(p *corev1.PersistentVolumeClaim) {
				p.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
			}),
			hint: "sets a selector"},
		{name: "the pod is not scheduled (first-consumer class, no node chosen)", pvc: pendingClaim(ptr("standard")),
			classes: []storagev1.StorageClass{*standard(true)}, hint: "waits for its pod to be scheduled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hint, err := claimVerdict(tt.pvc, tt.classes, events)
			if tt.infra != "" {
				require.Error(t, err)
				assert.True(t, kube.IsInfra(err))
				assert.Contains(t, err.Error(), tt.infra)
				assert.Contains(t, err.Error(), "ProvisioningFailed", "the message quotes the claim's last event")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, hint, tt.hint)
		})
	}
}

// unscheduledPod is persistent-log-demo waiting for its claim.
func unscheduledPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: "python:3.11-alpine"}, {Name: aggregator, Image: "busybox:1.35"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."}}}}
}

// TestReadyCheckPVC drives ex3's ready step on a fake clientset: the claim that never binds is the cluster's fault
// without a default StorageClass (an error, nothing recorded), the student's when it names a class that does not
// exist (a failed ex3.ready with a hint naming the class).
func TestReadyCheckPVC(t *testing.T) {
	env := func(objs ...k8sruntime.Object) *exercise.Env {
		d := rubric.DefaultDeadlines()
		d.ReadyWithPVC.Duration = 1200 * time.Millisecond
		return &exercise.Env{Session: &kube.Session{Namespace: "ns", Client: fake.NewClientset(objs...), MaxLogBytes: 1 << 20},
			Rec: check.NewRecorder(nil), Deadlines: d, Stops: &exercise.StopLog{}, Logf: func(string, ...any) {}}
	}
	t.Run("no default StorageClass: a grader error", func(t *testing.T) {
		t.Parallel()
		e := env(unscheduledPod(), pendingClaim(nil))
		ok, err := e.CheckReadyWith(context.Background(), readyCheck(e))
		assert.False(t, ok)
		require.Error(t, err)
		assert.True(t, kube.IsInfra(err))
		assert.Contains(t, err.Error(), "no default StorageClass")
		assert.False(t, e.Rec.Has("ex3.ready"))
	})
	t.Run("a broken provisioner: a grader error", func(t *testing.T) {
		t.Parallel()
		e := env(unscheduledPod(), pendingClaim(ptr("standard"), selected), standard(true))
		_, err := e.CheckReadyWith(context.Background(), readyCheck(e))
		assert.True(t, kube.IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "provisioner rancher.io/local-path")
	})
	t.Run("a StorageClass that does not exist: the student's failure", func(t *testing.T) {
		t.Parallel()
		e := env(unscheduledPod(), pendingClaim(ptr("fast-ssd")), standard(true))
		ok, err := e.CheckReadyWith(context.Background(), readyCheck(e))
		assert.False(t, ok)
		require.NoError(t, err)
		v, has := e.Rec.Get("ex3.ready")
		require.True(t, has)
		assert.Equal(t, result.Failed, v.Status)
		assert.Contains(t, v.Hint, `StorageClass "fast-ssd", which does not exist`)
	})
	t.Run("no PVC at all: the student's failure, as before", func(t *testing.T) {
		t.Parallel()
		e := env(unscheduledPod(), standard(true))
		ok, err := e.CheckReadyWith(context.Background(), readyCheck(e))
		assert.False(t, ok)
		require.NoError(t, err)
		v, _ := e.Rec.Get("ex3.ready")
		assert.Equal(t, result.Failed, v.Status)
	})
	t.Run("a lab image missing wins over the claim", func(t *testing.T) {
		t.Parallel()
		p := unscheduledPod()
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: app, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull"}}}}
		e := env(p, pendingClaim(ptr("fast-ssd")), standard(true))
		_, err := e.CheckReadyWith(context.Background(), readyCheck(e))
		assert.True(t, kube.IsInfra(err))
		assert.Contains(t, err.Error(), "image python:3.11-alpine is not on the node: run make cluster to load it")
	})
}
