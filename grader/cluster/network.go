package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// The node image's static CNI configuration (nodeimage/files/10-sidecar-lab.conflist) hands out pod addresses from
// imageSubnet: right for a single node. On a cluster with workers, podNetwork gives each node the pod range the
// control plane assigned it (Node.spec.podCIDR) and routes every other node's range to that node, which is what a
// CNI daemon such as kindnet does on a kind cluster with a registry at hand.
const (
	imageSubnet = "10.244.0.0/24"
	cniConfig   = "/etc/cni/net.d/10-sidecar-lab.conflist"
)

// podNetwork sets up pod networking across the nodes of a multi-node cluster (a no-op on a single node). It is
// idempotent: the routes live in the node containers' network namespaces and are lost when a node restarts, so
// Ensure runs it on every reuse.
func podNetwork(ctx context.Context, p *kindcluster.Provider, c *Cluster, o *Options) error {
	kn, err := p.ListNodes(o.Name)
	if err != nil || len(kn) < 2 {
		return err
	}
	if kn[0].Command("test", "-f", cniConfig).Run() != nil {
		return nil // not our node image: it brings a CNI daemon of its own (kindnet in kind's images)
	}
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	byName := map[string]nodes.Node{}
	for _, n := range kn {
		byName[n.String()] = n
	}
	// Wait for every node to be registered with its pod range (workers join after the control plane).
	var list []corev1.Node
	err = wait.PollUntilContextTimeout(ctx, time.Second, o.ReadyWait, true, func(ctx context.Context) (bool, error) {
		nl, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		list = nl.Items
		if len(list) < len(kn) {
			return false, nil
		}
		for _, n := range list {
			if n.Spec.PodCIDR == "" || internalIP(&n) == "" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %d nodes with a pod range and an address (%d seen): %w", len(kn), len(list), err)
	}
	changed := map[string]bool{}
	for _, n := range list {
		node, ok := byName[n.Name]
		if !ok {
			return fmt.Errorf("node %s has no container of cluster %q", n.Name, o.Name)
		}
		if n.Spec.PodCIDR != imageSubnet {
			var out strings.Builder
			cmd := node.Command("sh", "-c", `grep -q "\"$2\"" "$1" && exit 0; sed -i "s#\"$3\"#\"$2\"#" "$1" && echo changed`,
				"sh", cniConfig, n.Spec.PodCIDR, imageSubnet)
			cmd.SetStdout(&out)
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("set pod range %s on %s: %w", n.Spec.PodCIDR, n.Name, err)
			}
			if strings.TrimSpace(out.String()) == "changed" {
				changed[n.Name] = true
			}
		}
		for _, peer := range list {
			if peer.Name == n.Name {
				continue
			}
			if err := node.Command("ip", "route", "replace", peer.Spec.PodCIDR, "via", internalIP(&peer)).Run(); err != nil {
				return fmt.Errorf("route %s via %s on %s: %w", peer.Spec.PodCIDR, peer.Name, n.Name, err)
			}
		}
	}
	// Pods a worker started before its range was set hold addresses of the control plane's range: re-create them.
	pods, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	for _, pod := range pods.Items {
		if changed[pod.Spec.NodeName] && !pod.Spec.HostNetwork && pod.Status.PodIP != "" {
			o.say("re-creating %s/%s, started before node %s had its pod range", pod.Namespace, pod.Name, pod.Spec.NodeName)
			if err := cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("re-create pod %s/%s: %w", pod.Namespace, pod.Name, err)
			}
		}
	}
	if len(changed) > 0 {
		o.say("pod network set across %d nodes (each its own pod range, routed to the others)", len(list))
	}
	return nil
}

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
