package hostile_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
	"github.com/sidecar-lab/grader/tests/internal/testcluster"
)

// The runtime tests grade one after the other (never in parallel): the shared 2-core cluster grades at most two
// submissions at a time, and tests/grading may be using the other slot.

const gib = 1 << 30

// needCluster skips under -short (TestMain then brought no cluster up).
func needCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the runtime hostile tests need the cluster")
	}
}

func clientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", testcluster.Kubeconfig)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return cs
}

func grade(t *testing.T, name, dir string, opts ...grader.Option) *result.Submission {
	t.Helper()
	kc, err := grader.WithKubeconfig(testcluster.Kubeconfig, "")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	s := grader.Grade(ctx, dir, append([]grader.Option{kc}, opts...)...)
	out := os.Getenv("GRADER_TEST_ARTIFACTS")
	if out == "" {
		out = "../../out/test"
	}
	require.NoError(t, report.WriteAll(out+"/hostile-"+name, s))
	t.Logf("%s graded in %s: %d/%d, status %s", name, time.Since(t0).Round(time.Second), s.Score, s.MaxScore, s.Status)
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			t.Logf("  %-20s %-7s %.200s", c.ID, c.Status, c.Message)
		}
	}
	return s
}

// peakRSS is the process's peak resident set size (VmHWM of /proc/self/status), in bytes.
func peakRSS(t *testing.T) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// liveManaged lists the namespaces of one grading run (label sidecar-lab.grader/run=run) that are not being
// deleted. Other suites may grade on the same cluster at the same time: only this run's namespaces count.
func liveManaged(t *testing.T, cs kubernetes.Interface, run string) []string {
	t.Helper()
	l, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: grader.LabelRun + "=" + run})
	require.NoError(t, err)
	var out []string
	for _, ns := range l.Items {
		if ns.DeletionTimestamp == nil {
			out = append(out, ns.Name+" ("+string(ns.Status.Phase)+")")
		}
	}
	return out
}

// assertNothingOutside checks that no object named like the submission's exists in default or kube-system.
func assertNothingOutside(t *testing.T, cs kubernetes.Interface, pods, configMaps []string) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem} {
		for _, p := range pods {
			_, err := cs.CoreV1().Pods(ns).Get(ctx, p, metav1.GetOptions{})
			assert.Error(t, err, "pod %s/%s must not exist", ns, p)
		}
		for _, c := range configMaps {
			_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, c, metav1.GetOptions{})
			assert.Error(t, err, "configmap %s/%s must not exist", ns, c)
		}
	}
}

// TestFloodingSidecarIsContained grades a basic-sidecar.yaml whose log-sidecar runs `yes` (stdout flooded
// endlessly; ex1 only), then the reference right after. The flood is the student's failure (graded, not an error),
// the grader's memory stays < 1 GiB (the log reads are bounded), nothing of it outlives its namespace, and the
// reference graded next still gets full marks.
func TestFloodingSidecarIsContained(t *testing.T) {
	needCluster(t)
	cs := clientset(t)
	dir := submission(t, map[string]string{"basic-sidecar.yaml": floodingBasic(t)})
	run := "hostile-flood-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	s := grade(t, "flood", dir, grader.WithExercises("ex1"), grader.WithRunID(run))

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := peakRSS(t)
	t.Logf("after the flood: peak RSS (VmHWM) %d MiB, Go runtime Sys %d MiB, heap in use %d MiB", rss/mib, ms.Sys/mib, ms.HeapInuse/mib)
	assert.Less(t, rss, uint64(gib), "the grader's peak RSS")
	assert.Less(t, ms.Sys, uint64(gib), "the Go runtime's memory")

	require.Equal(t, result.StatusGraded, s.Status, "a flooding sidecar is the student's failure, not a grader error: %v", s.Error)
	assert.Less(t, s.Score, s.MaxScore)
	assert.Equal(t, result.Failed, s.Find("ex1.processed").Status, "no [PROCESSED] line: the sidecar prints y")
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			assert.NotEqual(t, result.Error, c.Status, "%s: %s", c.ID, c.Message)
		}
	}

	assert.Empty(t, liveManaged(t, cs, run), "the flood's namespace is being deleted once graded")
	assertNothingOutside(t, cs, []string{"web-with-sidecar"}, []string{"web-content"})

	ref := grade(t, "reference-after-flood", reference)
	require.Equal(t, result.StatusGraded, ref.Status, "%v", ref.Error)
	for _, e := range ref.Exercises {
		for _, c := range e.Checks {
			assert.Equal(t, result.Passed, c.Status, "reference after the flood, %s: %s", c.ID, c.Message)
		}
	}
	assert.Equal(t, ref.MaxScore, ref.Score)
}

// TestKubeSystemNamespaceIsIgnored grades the reference's basic-sidecar.yaml with metadata.namespace: kube-system
// on every object (ex1 only): it is graded in the grader's own namespace, with full marks, and nothing new appears
// in kube-system.
func TestKubeSystemNamespaceIsIgnored(t *testing.T) {
	needCluster(t)
	cs := clientset(t)
	ctx := context.Background()
	names := func() map[string]bool {
		out := map[string]bool{}
		pl, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		for _, p := range pl.Items {
			out["pod/"+p.Name] = true
		}
		cl, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		for _, c := range cl.Items {
			out["configmap/"+c.Name] = true
		}
		return out
	}
	before := names()

	// Watch kube-system while grading: an object created there and deleted again would not show afterwards.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	w, err := cs.CoreV1().Pods(metav1.NamespaceSystem).Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=web-with-sidecar"})
	require.NoError(t, err)
	seen := make(chan string, 10)
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				seen <- string(ev.Type) + " " + p.Namespace + "/" + p.Name
			}
		}
		close(seen)
	}()

	dir := submission(t, map[string]string{"basic-sidecar.yaml": inKubeSystem(t, "basic-sidecar.yaml")})
	s := grade(t, "kube-system", dir, grader.WithExercises("ex1"))
	require.Equal(t, result.StatusGraded, s.Status, "%v", s.Error)
	for _, c := range s.Exercises[0].Checks {
		assert.Equal(t, result.Passed, c.Status, "%s: %s", c.ID, c.Message)
	}

	stop()
	var events []string
	for ev := range seen {
		events = append(events, ev)
	}
	assert.Empty(t, events, "no pod web-with-sidecar ever appeared in kube-system")
	after := names()
	for n := range after {
		assert.True(t, before[n] || !(strings.HasSuffix(n, "/web-with-sidecar") || strings.HasSuffix(n, "/web-content")),
			"%s appeared in kube-system", n)
	}
	assertNothingOutside(t, cs, []string{"web-with-sidecar"}, []string{"web-content"})
}
