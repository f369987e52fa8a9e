// Package cluster brings up, reuses, checks and deletes the kind cluster the grader runs submissions on. It drives
// kind as a Go library (sigs.k8s.io/kind/pkg/cluster), loads the lab images into the node once, and returns only
// when the node is Ready and a default StorageClass exists.
package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// DefaultName is the kind cluster's name.
const DefaultName = "sidecar-lab"

// LabImages are the images the lab's manifests use; they are loaded into the node so no pod pulls during grading.
var LabImages = []string{"nginx:1.24-alpine", "busybox:1.35", "python:3.11-alpine"}

// kindConfig turns on PodLogsQuerySplitStreams (stdout and stderr read apart) on the API server and the kubelet,
// with one control-plane node and workers worker nodes.
func kindConfig(workers int) string {
	c := `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
featureGates:
  PodLogsQuerySplitStreams: true
nodes:
- role: control-plane
`
	for range workers {
		c += "- role: worker\n"
	}
	return c
}

// Options configure Ensure.
type Options struct {
	Name       string
	NodeImage  string // "" = from $SIDECAR_LAB_NODE_IMAGE, the images.env written by the image scripts, or kind's default
	Kubeconfig string // where the cluster's kubeconfig is written; "" = ~/.kube/sidecar-lab.kubeconfig
	Log        io.Writer
	ReadyWait  time.Duration
	Workers    int // worker nodes beside the control plane (0: one node that is both)
}

// Option is a functional option for Ensure and Delete.
type Option func(*Options)

// WithName sets the cluster name.
func WithName(n string) Option { return func(o *Options) { o.Name = n } }

// WithNodeImage sets the node image.
func WithNodeImage(img string) Option { return func(o *Options) { o.NodeImage = img } }

// WithKubeconfig sets where the kubeconfig is written.
func WithKubeconfig(p string) Option { return func(o *Options) { o.Kubeconfig = p } }

// WithWorkers gives a cluster created by Ensure n worker nodes beside its control plane (a multi-node cluster, as
// instructors run); it has no effect on a cluster that exists.
func WithWorkers(n int) Option { return func(o *Options) { o.Workers = n } }

// WithLog sets where progress lines go (default os.Stderr).
func WithLog(w io.Writer) Option { return func(o *Options) { o.Log = w } }

// Cluster is a running, healthy cluster.
type Cluster struct {
	Name       string
	Kubeconfig string
	NodeImage  string
}

func options(opts []Option) *Options {
	o := &Options{Name: DefaultName, Log: os.Stderr, ReadyWait: 3 * time.Minute}
	for _, f := range opts {
		f(o)
	}
	if o.Kubeconfig == "" {
		o.Kubeconfig = KubeconfigPath(o.Name)
	}
	return o
}

// KubeconfigPath is where Ensure writes the kubeconfig of the cluster name unless told otherwise:
// ~/.kube/<name>.kubeconfig.
func KubeconfigPath(name string) string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", name+".kubeconfig")
}

func (o *Options) say(format string, a ...any) {
	fmt.Fprintf(o.Log, "[cluster] "+format+"\n", a...)
}

// ErrBroken marks a cluster that exists but does not work; the message says how to recreate it.
var ErrBroken = errors.New("cluster is broken")

// Ensure creates the cluster, or reuses it when it exists and is healthy, loads the lab images, and waits until the
// node is Ready and a default StorageClass exists.
func Ensure(ctx context.Context, opts ...Option) (*Cluster, error) {
	o := options(opts)
	t0 := time.Now()
	if err := dockerAnswers(); err != nil {
		return nil, err
	}
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindLogger{o.Log}))
	names, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	exists := false
	for _, n := range names {
		exists = exists || n == o.Name
	}
	if o.NodeImage == "" {
		o.NodeImage = DefaultNodeImage()
	}
	if !exists {
		if err := nameClash(o.Name); err != nil {
			return nil, err
		}
		o.say("creating kind cluster %q with node image %s (feature gate PodLogsQuerySplitStreams on) ...", o.Name, o.NodeImage)
		if err := os.MkdirAll(filepath.Dir(o.Kubeconfig), 0o700); err != nil {
			return nil, err
		}
		err := p.Create(o.Name,
			kindcluster.CreateWithRawConfig([]byte(kindConfig(o.Workers))),
			kindcluster.CreateWithNodeImage(o.NodeImage),
			kindcluster.CreateWithKubeconfigPath(o.Kubeconfig),
			kindcluster.CreateWithWaitForReady(o.ReadyWait),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false),
		)
		if err != nil {
			return nil, fmt.Errorf("create kind cluster %q: %w\n  (if a port or name clashes with another cluster, delete it with 'make cluster-down' or 'kind delete cluster --name %s')", o.Name, err, o.Name)
		}
		o.say("created in %s", time.Since(t0).Round(time.Second))
	} else {
		o.say("reusing kind cluster %q", o.Name)
		if w := staleNodeImage(o); w != "" {
			o.say("warning: %s", w)
		}
		if err := startStopped(p, o); err != nil {
			return nil, fmt.Errorf("%w: %v\n  recreate it with 'make cluster-down cluster'", ErrBroken, err)
		}
		if err := p.ExportKubeConfig(o.Name, o.Kubeconfig, false); err != nil {
			return nil, fmt.Errorf("%w: cannot export its kubeconfig: %v; recreate it with 'make cluster-down cluster'", ErrBroken, err)
		}
	}
	c := &Cluster{Name: o.Name, Kubeconfig: o.Kubeconfig, NodeImage: o.NodeImage}
	if err := podNetwork(ctx, p, c, o); err != nil {
		return nil, fmt.Errorf("%w: pod network: %v\n  recreate it with 'make cluster-down cluster' (or: kind delete cluster --name %s)", ErrBroken, err, o.Name)
	}
	if err := waitHealthy(ctx, c, o); err != nil {
		if exists {
			return nil, fmt.Errorf("%w: %v\n  recreate it with 'make cluster-down cluster' (or: kind delete cluster --name %s)", ErrBroken, err, o.Name)
		}
		return nil, err
	}
	if err := loadImages(p, o); err != nil {
		return nil, err
	}
	o.say("cluster %q ready in %s (kubeconfig %s)", o.Name, time.Since(t0).Round(time.Second), o.Kubeconfig)
	return c, nil
}

// Delete deletes the cluster (a no-op when it does not exist).
func Delete(opts ...Option) error {
	o := options(opts)
	if err := dockerAnswers(); err != nil {
		return err
	}
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	o.say("deleting kind cluster %q ...", o.Name)
	if err := p.Delete(o.Name, o.Kubeconfig); err != nil {
		return fmt.Errorf("delete kind cluster %q: %w", o.Name, err)
	}
	return nil
}

// Exists reports whether a kind cluster with the given name exists.
func Exists(name string) bool {
	if dockerAnswers() != nil {
		return false
	}
	names, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).List()
	if err != nil {
		return false
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// DefaultNodeImage is $SIDECAR_LAB_NODE_IMAGE, else the NODE_IMAGE the image scripts recorded, else kind's default.
func DefaultNodeImage() string {
	if v := os.Getenv("SIDECAR_LAB_NODE_IMAGE"); v != "" {
		return v
	}
	cache := os.Getenv("SIDECAR_LAB_CACHE")
	if cache == "" {
		cache = "/var/cache/sidecar-lab"
	}
	if f, err := os.Open(filepath.Join(cache, "images.env")); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "NODE_IMAGE="); ok && v != "" {
				return v
			}
		}
	}
	return "" // kind's default
}

// staleNodeImage says when the cluster's control-plane node runs another image than o.NodeImage now names (the
// node image was rebuilt after the cluster was created): the cluster keeps working, but without the rebuild.
func staleNodeImage(o *Options) string {
	if o.NodeImage == "" {
		return ""
	}
	node := o.Name + "-control-plane"
	running, err1 := exec.Command("docker", "inspect", "-f", "{{.Image}}", node).Output()
	want, err2 := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", o.NodeImage).Output()
	if err1 != nil || err2 != nil || strings.TrimSpace(string(running)) == strings.TrimSpace(string(want)) {
		return ""
	}
	return fmt.Sprintf("node %s runs an older build of %s than the one on this host; recreate the cluster to use it: make cluster-down cluster", node, o.NodeImage)
}

func dockerAnswers() error {
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("no Docker engine answers ('docker info': %s).\n  As root on Debian/Ubuntu, 'make docker' installs and starts one; otherwise start Docker yourself",
			strings.TrimSpace(lastLine(string(out))))
	}
	return nil
}

// nameClash reports a container that already holds the node's name without being a kind cluster we can list.
func nameClash(name string) error {
	node := name + "-control-plane"
	out, err := exec.Command("docker", "ps", "-a", "--filter", "name=^/"+node+"$", "--format", "{{.Names}} {{.Status}}").Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		return fmt.Errorf("a container named %s already exists (%s) but is not a kind cluster kind can list; remove it with 'docker rm -f %s' and retry",
			node, strings.TrimSpace(string(out)), node)
	}
	return nil
}

// loadImages loads each lab image into every node unless the node already has that exact image.
func loadImages(p *kindcluster.Provider, o *Options) error {
	ns, err := p.ListInternalNodes(o.Name)
	if err != nil {
		return fmt.Errorf("list nodes of %q: %w", o.Name, err)
	}
	var missing []string
	for _, img := range LabImages {
		id, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", img).Output()
		if err != nil {
			return fmt.Errorf("image %s is not on this host: run 'make images' first (IMAGES=local builds it with no registry)", img)
		}
		for _, n := range ns {
			if !nodeHas(n, img, strings.TrimSpace(string(id))) {
				missing = append(missing, img)
				break
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	t0 := time.Now()
	o.say("loading %s into the node ...", strings.Join(missing, ", "))
	for _, n := range ns {
		save := exec.Command("docker", append([]string{"save"}, missing...)...)
		r, err := save.StdoutPipe()
		if err != nil {
			return err
		}
		if err := save.Start(); err != nil {
			return fmt.Errorf("docker save: %w", err)
		}
		lerr := nodeutils.LoadImageArchive(n, r)
		werr := save.Wait()
		if lerr != nil || werr != nil {
			return fmt.Errorf("load images into node %s: %v %v", n.String(), lerr, werr)
		}
	}
	o.say("images loaded in %s", time.Since(t0).Round(time.Second))
	return nil
}

// startStopped starts node containers that are not running (after a reboot or a restart of dockerd) and lets
// waitHealthy judge the result.
func startStopped(p *kindcluster.Provider, o *Options) error {
	ns, err := p.ListNodes(o.Name)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range ns {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", n.String()).Output()
		if err != nil {
			return fmt.Errorf("inspect node container %s: %w", n.String(), err)
		}
		if strings.TrimSpace(string(out)) == "true" {
			continue
		}
		o.say("node container %s is stopped: starting it", n.String())
		if out, err := exec.Command("docker", "start", n.String()).CombinedOutput(); err != nil {
			return fmt.Errorf("docker start %s: %v: %s", n.String(), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func nodeHas(n nodes.Node, img, id string) bool {
	got, err := nodeutils.ImageID(n, img)
	return err == nil && got == id
}

// waitHealthy polls until the node is Ready and a default StorageClass exists.
func waitHealthy(ctx context.Context, c *Cluster, o *Options) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(o.ReadyWait)
	var last string
	for {
		last = health(ctx, cs)
		if last == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster %q not healthy after %s: %s", c.Name, o.ReadyWait, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// health returns "" when healthy, else what is wrong.
func health(ctx context.Context, cs kubernetes.Interface) string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nl, err := cs.CoreV1().Nodes().List(cctx, metav1.ListOptions{})
	if err != nil {
		return "API server does not answer: " + err.Error()
	}
	if len(nl.Items) == 0 {
		return "no nodes"
	}
	for _, n := range nl.Items {
		ready := false
		for _, cnd := range n.Status.Conditions {
			if cnd.Type == corev1.NodeReady && cnd.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return "node " + n.Name + " is not Ready"
		}
	}
	scs, err := cs.StorageV1().StorageClasses().List(cctx, metav1.ListOptions{})
	if err != nil {
		return "cannot list StorageClasses: " + err.Error()
	}
	if !hasDefault(scs.Items) {
		return "no default StorageClass yet"
	}
	return ""
}

func hasDefault(scs []storagev1.StorageClass) bool {
	for _, sc := range scs {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return true
		}
	}
	return false
}

// Clientset returns a client for the cluster.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	return kubernetes.NewForConfig(cfg)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
