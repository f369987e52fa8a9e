package ex3

// Why a PersistentVolumeClaim never binds: the student's claim (no such StorageClass, none asked for, an access
// mode or selector the provisioner cannot meet, a pod that cannot be scheduled) or the grading cluster (no default
// StorageClass, a provisioner that does not provision a claim the lab's manifest makes). The first is a failed
// check, the second a grader error: the grading stops with no score, and the message says what to fix.

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sidecar-lab/grader/grader/internal/exercise"
	"github.com/sidecar-lab/grader/grader/internal/kube"
)

// Annotations the control plane puts on claims and classes.
const (
	annSelectedNode     = "volume.kubernetes.io/selected-node"          // the scheduler chose a node for a WaitForFirstConsumer claim
	annBetaClass        = "volume.beta.kubernetes.io/storage-class"     // the deprecated way to name a class
	annDefaultClass     = "storageclass.kubernetes.io/is-default-class" // the default StorageClass
	annBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
)

// readyCheck is ex3.ready: the pod Ready, the claim Bound; a claim the cluster could not bind is a grader error.
func readyCheck(e *exercise.Env) exercise.ReadyCheck {
	return exercise.ReadyCheck{
		ID: "ex3.ready", Pod: pod, Deadline: e.Deadlines.ReadyWithPVC.Duration,
		Extra: func(ctx context.Context) (string, bool, error) {
			pvc, err := e.Client.CoreV1().PersistentVolumeClaims(e.Namespace).Get(ctx, claim, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return "", false, kube.APIFailure("get PVC "+claim, err) // as Session.Pod: only NotFound is the student's
			}
			if err != nil {
				return "PVC " + claim + " missing (" + err.Error() + ")", false, nil
			}
			if pvc.Status.Phase != corev1.ClaimBound {
				return "PVC " + claim + " is " + string(pvc.Status.Phase) + ", not Bound", false, nil
			}
			return "", true, nil
		},
		Diagnose: func(ctx context.Context, _ *corev1.Pod) (string, error) { return diagnoseClaim(ctx, e) },
	}
}

// diagnoseClaim explains a claim log-storage that is not Bound once the pod's deadline has passed. It returns an
// InfraError when the grading cluster is to blame; otherwise a hint for the student ("" when the claim is Bound or
// absent: its absence is the static checks' and the generic hint's business).
func diagnoseClaim(ctx context.Context, e *exercise.Env) (string, error) {
	pvc, err := e.Client.CoreV1().PersistentVolumeClaims(e.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", kube.APIFailure("get PVC "+claim, err)
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		return "", nil
	}
	classes, err := e.Client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", kube.Infra("PVC %s is %s, and the cluster's StorageClasses cannot be listed to tell why: %v", claim, phase(pvc), err)
	}
	return claimVerdict(pvc, classes.Items, e.Events(ctx, "PersistentVolumeClaim", claim))
}

// claimVerdict is diagnoseClaim's decision on a claim that is not Bound, given the cluster's StorageClasses and the
// claim's events (oldest first).
func claimVerdict(pvc *corev1.PersistentVolumeClaim, classes []storagev1.StorageClass, events []string) (string, error) {
	name := ""
	named := false // the claim names a class (possibly "", none)
	if pvc.Spec.StorageClassName != nil {
		name, named = *pvc.Spec.StorageClassName, true
	} else if v, ok := pvc.Annotations[annBetaClass]; ok {
		name, named = v, true
	}
	last := "no events"
	if len(events) > 0 {
		last = events[len(events)-1]
	}
	switch {
	case named && name == "":
		return `PVC log-storage sets storageClassName: "", which asks for no provisioning: only a PersistentVolume made ` +
			`beforehand could bind it. Leave storageClassName out so that the cluster's default StorageClass provisions one`, nil
	case named:
		sc := findClass(classes, name)
		if sc == nil {
			return fmt.Sprintf("PVC log-storage names StorageClass %q, which does not exist on the grading cluster (it has %s): "+
				"leave storageClassName out to use the cluster's default StorageClass", name, classNames(classes)), nil
		}
		return provisioned(pvc, sc, last)
	}
	// No class named: the API server gives the claim the default class when it is created, so a claim without one
	// means the cluster had no default StorageClass then.
	if def := defaultClass(classes); def != nil {
		return "", kube.Diagnosed("PVC %s (the lab's, with no storageClassName) never bound: it was created while the grading cluster "+
			"had no default StorageClass (now %s is); re-run the grading (last event: %s)", claim, def.Name, last)
	}
	return "", kube.Diagnosed("PVC %s (the lab's, with no storageClassName) never bound: the grading cluster has no default StorageClass "+
		"(it has %s); give it one (kind's is \"standard\"; make cluster-down cluster recreates the cluster) (last event: %s)",
		claim, classNames(classes), last)
}

// provisioned decides for a claim of an existing class sc: a claim the lab's manifest could have written (one
// ReadWriteOnce or ReadWriteOncePod, a filesystem volume, no selector or data source) that the scheduler placed
// (or whose class binds immediately) must be provisioned by a working cluster.
func provisioned(pvc *corev1.PersistentVolumeClaim, sc *storagev1.StorageClass, last string) (string, error) {
	if why := unusualClaim(pvc); why != "" {
		return fmt.Sprintf("PVC log-storage %s, which the StorageClass %s (provisioner %s) may not be able to provision: "+
			"ask for what the lab asks (ReadWriteOnce, 1Gi, nothing else). Last event: %s", why, sc.Name, sc.Provisioner, last), nil
	}
	waits := sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	if waits && pvc.Annotations[annSelectedNode] == "" {
		// The provisioner is only asked once the scheduler places the pod: something else keeps it from being placed
		// (its requests, a nodeSelector, ...), which the pod's state and events say.
		return fmt.Sprintf("PVC log-storage waits for its pod to be scheduled (StorageClass %s binds on first use), and the pod "+
			"was not: read the pod's events below (resource requests, nodeSelector or affinity that no node meets)", sc.Name), nil
	}
	return "", kube.Diagnosed("PVC %s of StorageClass %s was not provisioned: the cluster's provisioner %s did not create a volume "+
		"for a claim the lab's manifest makes (last event: %s); check the provisioner's pods (kind: local-path-provisioner "+
		"in local-path-storage)", claim, sc.Name, sc.Provisioner, last)
}

// unusualClaim says what in the claim goes beyond the lab's ("" when nothing does).
func unusualClaim(pvc *corev1.PersistentVolumeClaim) string {
	var why []string
	for _, m := range pvc.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			why = append(why, "asks for access mode "+string(m))
		}
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		why = append(why, "asks for a raw block volume")
	}
	if pvc.Spec.Selector != nil {
		why = append(why, "sets a selector (it may only bind a matching PersistentVolume)")
	}
	if pvc.Spec.DataSource != nil || pvc.Spec.DataSourceRef != nil {
		why = append(why, "sets a data source")
	}
	if pvc.Spec.VolumeAttributesClassName != nil {
		why = append(why, "names a VolumeAttributesClass")
	}
	return strings.Join(why, ", ")
}

func findClass(classes []storagev1.StorageClass, name string) *storagev1.StorageClass {
	for i := range classes {
		if classes[i].Name == name {
			return &classes[i]
		}
	}
	return nil
}

func defaultClass(classes []storagev1.StorageClass) *storagev1.StorageClass {
	for i := range classes {
		a := classes[i].Annotations
		if a[annDefaultClass] == "true" || a[annBetaDefaultClass] == "true" {
			return &classes[i]
		}
	}
	return nil
}

func classNames(classes []storagev1.StorageClass) string {
	if len(classes) == 0 {
		return "no StorageClass at all"
	}
	var n []string
	for _, c := range classes {
		n = append(n, c.Name)
	}
	return "StorageClasses " + strings.Join(n, ", ")
}

func phase(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Status.Phase == "" {
		return "Pending"
	}
	return string(pvc.Status.Phase)
}
