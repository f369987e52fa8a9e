package kube

// A node that restarts under a grading (its kubelet and container runtime restart, every pod's containers die and
// come back) makes the student's pods look broken: restarted containers, execs refused, logs cut. NodeDisruption
// finds the cluster's own record of it, so that the grading blames the cluster, not the student.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeDisruption reports what disrupted the nodes of the session's pods since the time since: a kubelet that started
// (the node or its runtime restarted), a node that is or went NotReady, a pod sandbox the kubelet had to re-create.
// It returns "" when the cluster recorded none of these, and an InfraError when the API server cannot tell.
func (s *Session) NodeDisruption(ctx context.Context, since time.Time) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	evs, err := s.Client.CoreV1().Events(s.Namespace).List(cctx, metav1.ListOptions{})
	if err != nil {
		return "", Classify(err, "list the namespace's events")
	}
	pods, err := s.Client.CoreV1().Pods(s.Namespace).List(cctx, metav1.ListOptions{})
	if err != nil {
		return "", Classify(err, "list the namespace's pods")
	}
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
		}
	}
	var seen []string
	for _, e := range evs.Items {
		switch {
		case e.Reason == "Scheduled":
			if i := strings.LastIndex(e.Message, " to "); i >= 0 {
				nodes[strings.TrimSpace(e.Message[i+4:])] = true
			}
		case e.Reason == "SandboxChanged" && e.InvolvedObject.Kind == "Pod" && atOrAfter(eventTime(e), since):
			seen = append(seen, fmt.Sprintf("pod %s's sandbox was killed and re-created at %s (the node's container runtime restarted)",
				e.InvolvedObject.Name, eventTime(e).UTC().Format("15:04:05")))
		}
	}
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		nl, err := s.Client.CoreV1().Nodes().List(cctx, metav1.ListOptions{FieldSelector: "metadata.name=" + n})
		if err != nil {
			return "", Classify(err, "list node "+n)
		}
		for _, node := range nl.Items {
			if node.Name == n {
				seen = append(seen, nodeState(&node, since)...)
			}
		}
		nev, err := s.Client.CoreV1().Events(metav1.NamespaceDefault).List(cctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=Node,involvedObject.name=" + n})
		if err != nil {
			return "", Classify(err, "list node "+n+"'s events")
		}
		for _, e := range nev.Items {
			if e.InvolvedObject.Kind != "Node" || e.InvolvedObject.Name != n || !atOrAfter(eventTime(e), since) {
				continue
			}
			switch e.Reason {
			case "Starting", "Rebooted", "NodeNotReady":
				seen = append(seen, fmt.Sprintf("node %s: %s at %s (%s)", n, e.Reason, eventTime(e).UTC().Format("15:04:05"), strings.TrimSpace(e.Message)))
			}
		}
	}
	return strings.Join(dedupe(seen), "; "), nil
}

// nodeState reports a node that is not Ready, or whose Ready condition changed since the time since.
func nodeState(n *corev1.Node, since time.Time) []string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status != corev1.ConditionTrue {
			return []string{fmt.Sprintf("node %s is not Ready (%s: %s)", n.Name, c.Reason, c.Message)}
		}
		if atOrAfter(c.LastTransitionTime.Time, since) {
			return []string{fmt.Sprintf("node %s became Ready again at %s", n.Name, c.LastTransitionTime.UTC().Format("15:04:05"))}
		}
	}
	return nil
}

// atOrAfter reports whether t is at or after s, at the one-second resolution of event and condition times.
func atOrAfter(t, s time.Time) bool { return !t.Before(s.Truncate(time.Second)) }

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
