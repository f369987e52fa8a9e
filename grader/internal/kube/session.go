// Package kube is the grader's access to a cluster: one Session per exercise, bound to that exercise's own
// namespace, with bounded log reads, exec with separate stdout and stderr, polling with deadlines, and the
// evidence (container logs, pod events) a failed check attaches.
package kube

import (
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Session is one exercise's view of the cluster: everything it does happens in Namespace.
type Session struct {
	Namespace string
	Client    kubernetes.Interface
	Config    *rest.Config
}
