package grader

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sidecar-lab/grader/grader/internal/kube"
	"github.com/sidecar-lab/grader/grader/internal/probe"
)

// Labels and annotations on every namespace the grader makes, so that it can find and delete its leftovers.
const (
	LabelManaged     = "sidecar-lab.grader/managed"
	LabelExercise    = "sidecar-lab.grader/exercise"
	LabelRun         = "sidecar-lab.grader/run" // one value per Grade call (WithRunID), to find one run's namespaces
	AnnotationExpiry = "sidecar-lab.grader/expires"
)

// namespaceTTL is how long a namespace may outlive its run before the next run deletes it as a leftover.
const namespaceTTL = 30 * time.Minute

// createNamespace makes an exercise's namespace: labelled, Pod Security "baseline" enforced (the cluster's own guard
// behind our policy check), a ResourceQuota and a LimitRange so that a submission cannot starve the node.
func createNamespace(ctx context.Context, cs kubernetes.Interface, exercise, run string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "sidecar-lab-" + exercise + "-",
		Labels: map[string]string{
			LabelManaged: "true", LabelExercise: exercise, LabelRun: run,
			"pod-security.kubernetes.io/enforce": "baseline",
			"pod-security.kubernetes.io/warn":    "restricted",
		},
		Annotations: map[string]string{AnnotationExpiry: strconv.FormatInt(time.Now().Add(namespaceTTL).Unix(), 10)},
	}}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := cs.CoreV1().Namespaces().Create(cctx, ns, metav1.CreateOptions{})
	if err != nil {
		return "", kube.APIFailure("create namespace for "+exercise, err)
	}
	name := got.Name
	q := resource.MustParse
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "sidecar-lab"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods: q("4"), corev1.ResourceRequestsCPU: q("1"), corev1.ResourceRequestsMemory: q("1Gi"),
		corev1.ResourceLimitsCPU: q("2"), corev1.ResourceLimitsMemory: q("2Gi"),
		corev1.ResourcePersistentVolumeClaims: q("2"), corev1.ResourceRequestsStorage: q("5Gi"),
		corev1.ResourceServices: q("2"), corev1.ResourceConfigMaps: q("10"), corev1.ResourceSecrets: q("10"),
	}}}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "sidecar-lab"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:           corev1.LimitTypeContainer,
		Default:        corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("256Mi")},
		DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q("25m"), corev1.ResourceMemory: q("32Mi")},
		Max:            corev1.ResourceList{corev1.ResourceCPU: q("1"), corev1.ResourceMemory: q("1Gi")},
	}}}}
	if _, err := cs.CoreV1().ResourceQuotas(name).Create(cctx, quota, metav1.CreateOptions{}); err != nil {
		return name, kube.APIFailure("create quota in "+name, err)
	}
	if _, err := cs.CoreV1().LimitRanges(name).Create(cctx, lr, metav1.CreateOptions{}); err != nil {
		return name, kube.APIFailure("create limit range in "+name, err)
	}
	// Pods must not use the namespace's default service account token (Apply also sets automount false per pod).
	if err := waitServiceAccount(ctx, cs, name); err != nil {
		return name, err
	}
	return name, nil
}

// waitServiceAccount waits for the namespace's default service account (pods are refused until it exists) and
// turns off its token automount.
func waitServiceAccount(ctx context.Context, cs kubernetes.Interface, ns string) error {
	var sa *corev1.ServiceAccount
	err := kube.Poll(ctx, 60*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		got, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, kube.APIFailure("get default service account in "+ns, err)
		}
		sa = got
		return true, nil
	})
	if err != nil {
		return kube.Infra("namespace %s has no default service account after 60 s (is the controller manager running?): %v", ns, err)
	}
	no := false
	sa.AutomountServiceAccountToken = &no
	if _, err := cs.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		return kube.APIFailure("update default service account in "+ns, err)
	}
	return nil
}

// deleteNamespace deletes ns in the background (pods' grace periods run on without us).
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := cs.CoreV1().Namespaces().Delete(cctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return nil
}

// CollectLeftovers deletes the grader's namespaces whose expiry has passed (left by a run that was killed).
func CollectLeftovers(ctx context.Context, cs kubernetes.Interface) (int, error) {
	now := time.Now()
	return deleteManaged(ctx, cs, func(ns corev1.Namespace) bool { return expired(ns, now) })
}

// DeleteManagedNamespaces deletes every namespace the grader made (label LabelManaged), expired or not: what
// `grader cluster clean` does when no grading runs, and what any grading still running would lose.
func DeleteManagedNamespaces(ctx context.Context, cs kubernetes.Interface) (int, error) {
	return deleteManaged(ctx, cs, func(corev1.Namespace) bool { return true })
}

// deleteManaged deletes the grader's namespaces that are not being deleted already and that del selects; it
// returns how many it deleted.
func deleteManaged(ctx context.Context, cs kubernetes.Interface, del func(corev1.Namespace) bool) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := cs.CoreV1().Namespaces().List(cctx, metav1.ListOptions{LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return 0, kube.APIFailure("list namespaces", err)
	}
	n := 0
	for _, ns := range l.Items {
		if ns.DeletionTimestamp != nil || !del(ns) {
			continue
		}
		if err := deleteNamespace(ctx, cs, ns.Name); err == nil {
			n++
		}
	}
	return n, nil
}

// expired reports whether a managed namespace has outlived its expiry annotation. A namespace without a readable
// annotation (made by another tool that borrowed the label, or by hand) gets namespaceTTL from its creation, so a
// namespace some other run has just created is never taken from under it.
func expired(ns corev1.Namespace, now time.Time) bool {
	if exp, err := strconv.ParseInt(ns.Annotations[AnnotationExpiry], 10, 64); err == nil {
		return now.Unix() >= exp
	}
	return now.Sub(ns.CreationTimestamp.Time) >= namespaceTTL
}

func init() { probe.Version = Version }
