package faults_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/sidecar-lab/grader/grader"
	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// The grader's identity of deploy/grader-rbac.yaml.
const (
	rbacNamespace = "sidecar-lab-grader"
	rbacAccount   = "sidecar-lab-grader"
)

var (
	rbacOnce sync.Once
	rbacCfg  *rest.Config
	rbacErr  error
)

// graderConfig applies deploy/grader-rbac.yaml (once) and returns a REST config holding only the grader's service
// account token: every grading of this suite runs with exactly the rights instructors are told to grant.
func graderConfig(ctx context.Context, t *testing.T, cfg *envconf.Config) *rest.Config {
	t.Helper()
	rbacOnce.Do(func() {
		r := cfg.Client().Resources()
		if rbacErr = decoder.DecodeEachFile(ctx, os.DirFS("../../deploy"), "grader-rbac.yaml", decoder.CreateIgnoreAlreadyExists(r)); rbacErr != nil {
			return
		}
		cs := admin(t, cfg)
		exp := int64(2 * 3600)
		var tok *authv1.TokenRequest
		// The ServiceAccount may take a moment to be served after its creation.
		rbacErr = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			var err error
			tok, err = cs.CoreV1().ServiceAccounts(rbacNamespace).CreateToken(ctx, rbacAccount,
				&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
			return err == nil, nil
		})
		if rbacErr != nil {
			rbacErr = fmt.Errorf("token for %s/%s: %w", rbacNamespace, rbacAccount, rbacErr)
			return
		}
		c := rest.AnonymousClientConfig(cfg.Client().RESTConfig())
		c.BearerToken = tok.Status.Token
		c.QPS, c.Burst = 50, 100
		c.WarningHandler = rest.NoWarnings{}
		rbacCfg = c
	})
	require.NoError(t, rbacErr, "apply deploy/grader-rbac.yaml and get the grader's token")
	return rbacCfg
}

func admin(t *testing.T, cfg *envconf.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	require.NoError(t, err)
	return cs
}

// grade grades dir on the disposable cluster as the grader's service account and writes its reports under
// out/test/faults/<label> (GRADER_TEST_ARTIFACTS overrides out/test).
func grade(ctx context.Context, t *testing.T, cfg *envconf.Config, label, dir string, opts ...grader.Option) *result.Submission {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	opts = append([]grader.Option{grader.WithRESTConfig(graderConfig(ctx, t, cfg)), grader.WithLog(testWriter{t})}, opts...)
	s := grader.Grade(ctx, dir, opts...)
	base := os.Getenv("GRADER_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join("..", "..", "out", "test")
	}
	out := filepath.Join(base, "faults", label)
	require.NoError(t, report.WriteAll(out, s))
	t.Logf("%s graded in %s: %d/%d, status %s; reports in %s", label, time.Since(t0).Round(time.Second), s.Score, s.MaxScore, s.Status, out)
	return s
}

// testWriter sends the grader's log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func exitCode(s *result.Submission) int { return report.ExitCode(s, 0) }

func describe(s *result.Submission) string {
	var b strings.Builder
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			msg := c.Message
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			fmt.Fprintf(&b, "  %-22s %-7s %s\n", c.ID, c.Status, msg)
		}
	}
	return b.String()
}

// docker runs a docker command that must succeed.
func docker(t *testing.T, args ...string) {
	t.Helper()
	require.NoError(t, dockerTry(args...))
}

func dockerTry(args ...string) error {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// repair brings the disposable cluster back to health: nodes running and Ready, lab images on every node, the pod
// network routed, a default StorageClass.
func repair(ctx context.Context, t *testing.T) {
	t.Helper()
	_, err := ensure(ctx)
	require.NoError(t, err, "the disposable cluster did not come back after the fault")
}

// scheduledNodes maps each pod of the grading run to the node its Scheduled event names (the pods themselves
// are gone once graded).
func scheduledNodes(ctx context.Context, t *testing.T, cfg *envconf.Config, run string) map[string]string {
	t.Helper()
	cs := admin(t, cfg)
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: grader.LabelRun + "=" + run})
	require.NoError(t, err)
	out := map[string]string{}
	for _, ns := range nss.Items {
		evs, err := cs.CoreV1().Events(ns.Name).List(ctx, metav1.ListOptions{FieldSelector: "reason=Scheduled"})
		require.NoError(t, err)
		for _, e := range evs.Items {
			// "Successfully assigned <ns>/<pod> to <node>"
			if i := strings.LastIndex(e.Message, " to "); i >= 0 {
				out[ns.Name+"/"+e.InvolvedObject.Name] = e.Message[i+4:]
			}
		}
	}
	return out
}

// deleteRun deletes the namespaces a grading kept (grader.WithKeep).
func deleteRun(ctx context.Context, t *testing.T, cfg *envconf.Config, run string) {
	t.Helper()
	cs := admin(t, cfg)
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: grader.LabelRun + "=" + run})
	require.NoError(t, err)
	for _, ns := range nss.Items {
		require.NoError(t, cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}))
	}
}

// scaleProvisioner sets the replicas of the local-path provisioner and waits until that many of its pods are
// running and ready (0: none left at all).
func scaleProvisioner(ctx context.Context, t *testing.T, cfg *envconf.Config, replicas int32) {
	t.Helper()
	cs := admin(t, cfg)
	const ns, deploy = "local-path-storage", "local-path-provisioner"
	sc, err := cs.AppsV1().Deployments(ns).GetScale(ctx, deploy, metav1.GetOptions{})
	require.NoError(t, err)
	sc.Spec.Replicas = replicas
	_, err = cs.AppsV1().Deployments(ns).UpdateScale(ctx, deploy, sc, metav1.UpdateOptions{})
	require.NoError(t, err)
	var seen string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready++
				}
			}
		}
		seen = fmt.Sprintf("%d pods, %d ready", len(pods.Items), ready)
		if replicas == 0 {
			return len(pods.Items) == 0, nil
		}
		return ready == int(replicas), nil
	})
	require.NoError(t, err, "local-path provisioner scaled to %d: waited 2m, saw %s", replicas, seen)
}

// shortDeadlines is a rubric that waits d, not RUBRIC.md's 120 s, for ex3's claim to bind and its pod to be Ready:
// the fault is certain, so the suite need not wait as long as a student's grading would.
func shortDeadlines(d time.Duration) grader.Option {
	dir, err := os.MkdirTemp("", "sidecar-lab-rubric-")
	if err == nil {
		defer os.RemoveAll(dir)
		p := filepath.Join(dir, "rubric.yaml")
		if err = os.WriteFile(p, []byte(fmt.Sprintf("name: fault suite\ndeadlines:\n  ready_pvc: %s\n", d)), 0o644); err == nil {
			var o grader.Option
			if o, err = grader.WithRubricFile(p); err == nil {
				return o
			}
		}
	}
	panic(fmt.Sprintf("write the fault suite's rubric: %v", err))
}
