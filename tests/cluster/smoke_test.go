package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/sidecar-lab/grader/grader"
)

type nsKey struct{}

// withNamespace gives each feature its own namespace, deleted afterwards.
func withNamespace(f *features.FeatureBuilder) *features.FeatureBuilder {
	return f.Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		cs := clientset(t, cfg)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-" + rand.String(6), Labels: map[string]string{grader.LabelManaged: "true"},
			Annotations: map[string]string{grader.AnnotationExpiry: strconv.FormatInt(time.Now().Add(30*time.Minute).Unix(), 10)}}}
		_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		}), "namespace %s never got its default service account", ns.Name)
		return context.WithValue(ctx, nsKey{}, ns.Name)
	}).Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
		_ = clientset(t, cfg).CoreV1().Namespaces().Delete(ctx, ctx.Value(nsKey{}).(string), metav1.DeleteOptions{})
		return ctx
	})
}

func clientset(t *testing.T, cfg *envconf.Config) kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	require.NoError(t, err)
	return cs
}

func busybox(name, script string, mounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox:1.35", ImagePullPolicy: corev1.PullNever,
		Command:      []string{"sh", "-c", "trap 'exit 0' TERM; " + script + "; while true; do sleep 1 & wait $!; done"},
		VolumeMounts: mounts}
}

// runPod creates pod in the feature's namespace and waits until it is Running with every container ready.
func runPod(ctx context.Context, t *testing.T, cfg *envconf.Config, pod *corev1.Pod) {
	t.Helper()
	cs := clientset(t, cfg)
	ns := ctx.Value(nsKey{}).(string)
	zero := int64(1)
	pod.Spec.TerminationGracePeriodSeconds = &zero
	_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	var last *corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		if p.Status.Phase != corev1.PodRunning {
			return false, nil
		}
		for _, c := range p.Status.ContainerStatuses {
			if !c.Ready {
				return false, nil
			}
		}
		return true, nil
	})
	require.NoError(t, err, "pod %s not running with all containers ready within 2m; last status: %+v", pod.Name, last)
}

// execIn runs cmd in a container and returns stdout and stderr apart.
func execIn(ctx context.Context, t *testing.T, cfg *envconf.Config, pod, container string, cmd ...string) (string, string) {
	t.Helper()
	cs := clientset(t, cfg)
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ctx.Value(nsKey{}).(string)).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(cfg.Client().RESTConfig(), "POST", req.URL())
	require.NoError(t, err)
	var so, se bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, ex.StreamWithContext(cctx, remotecommand.StreamOptions{Stdout: &so, Stderr: &se}), "exec %v in %s/%s", cmd, pod, container)
	return so.String(), se.String()
}

func TestPlatform(t *testing.T) {
	sharedEmptyDir := withNamespace(features.New("a two-container pod shares an emptyDir")).
		Assess("what one container writes, the other reads", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			mount := func(p string) corev1.VolumeMount { return corev1.VolumeMount{Name: "shared", MountPath: p} }
			runPod(ctx, t, cfg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{
					busybox("writer", "echo hello-from-writer > /out/file", mount("/out")),
					busybox("reader", "true", mount("/in")),
				},
				Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			}})
			out, _ := execIn(ctx, t, cfg, "shared", "reader", "cat", "/in/file")
			require.Equal(t, "hello-from-writer\n", out)
			return ctx
		}).Feature()

	configMaps := withNamespace(features.New("ConfigMap volumes mount as a directory and through subPath")).
		Assess("both mounts show the ConfigMap's keys", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ns := ctx.Value(nsKey{}).(string)
			_, err := clientset(t, cfg).CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
				Data: map[string]string{"nginx.conf": "server {}\n", "script.py": "print(1)\n"}}, metav1.CreateOptions{})
			require.NoError(t, err)
			mode := int32(0o755)
			runPod(ctx, t, cfg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{busybox("c", "true",
					corev1.VolumeMount{Name: "cfg", MountPath: "/scripts"},
					corev1.VolumeMount{Name: "cfg", MountPath: "/etc/nginx/conf.d/default.conf", SubPath: "nginx.conf"})},
				Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, DefaultMode: &mode}}}},
			}})
			out, _ := execIn(ctx, t, cfg, "cm", "c", "cat", "/scripts/script.py")
			require.Equal(t, "print(1)\n", out)
			out, _ = execIn(ctx, t, cfg, "cm", "c", "cat", "/etc/nginx/conf.d/default.conf")
			require.Equal(t, "server {}\n", out)
			out, _ = execIn(ctx, t, cfg, "cm", "c", "ls", "/etc/nginx/conf.d")
			require.Equal(t, "default.conf\n", out, "a subPath mount must add one file, not the whole ConfigMap")
			return ctx
		}).Feature()

	streams := withNamespace(features.New("stdout and stderr stay apart")).
		Assess("exec returns them separately", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			runPod(ctx, t, cfg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "streams"}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{busybox("c", "echo to-stdout; echo to-stderr >&2")}}})
			out, errOut := execIn(ctx, t, cfg, "streams", "c", "sh", "-c", "echo exec-out; echo exec-err >&2")
			require.Equal(t, "exec-out\n", out)
			require.Equal(t, "exec-err\n", errOut)
			return ctx
		}).
		Assess("container logs read as stdout only and stderr only", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			cs := clientset(t, cfg)
			ns := ctx.Value(nsKey{}).(string)
			read := func(stream string) string {
				lim := int64(1 << 16)
				opts := &corev1.PodLogOptions{Container: "c", LimitBytes: &lim}
				if stream != "" {
					opts.Stream = &stream
				}
				b, err := cs.CoreV1().Pods(ns).GetLogs("streams", opts).DoRaw(ctx)
				require.NoError(t, err, "read %s log", stream)
				return string(b)
			}
			require.Equal(t, "to-stdout\n", read("Stdout"), "stream=Stdout must return stdout only (feature gate PodLogsQuerySplitStreams)")
			require.Equal(t, "to-stderr\n", read("Stderr"), "stream=Stderr must return stderr only")
			both := read("")
			require.Contains(t, both, "to-stdout")
			require.Contains(t, both, "to-stderr")
			return ctx
		}).Feature()

	pvc := withNamespace(features.New("a PVC from the default StorageClass keeps data across pod re-creation")).
		Assess("a file written before the pod's deletion is there in the new pod", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			cs := clientset(t, cfg)
			ns := ctx.Value(nsKey{}).(string)
			_, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
				metav1.CreateOptions{})
			require.NoError(t, err)
			mk := func() *corev1.Pod {
				return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pvc"}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{busybox("c", "true", corev1.VolumeMount{Name: "data", MountPath: "/data"})},
					Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
				}}
			}
			runPod(ctx, t, cfg, mk())
			p, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
			require.NoError(t, err)
			require.Equal(t, corev1.ClaimBound, p.Status.Phase)
			require.NotNil(t, p.Spec.StorageClassName, "the PVC must get the default StorageClass")
			stamp := fmt.Sprintf("kept-%d", time.Now().UnixNano())
			execIn(ctx, t, cfg, "pvc", "c", "sh", "-c", "echo "+stamp+" > /data/f")
			require.NoError(t, cs.CoreV1().Pods(ns).Delete(ctx, "pvc", metav1.DeleteOptions{}))
			require.NoError(t, wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				_, err := cs.CoreV1().Pods(ns).Get(ctx, "pvc", metav1.GetOptions{})
				return err != nil, nil
			}), "pod pvc not gone within 1m of deletion")
			runPod(ctx, t, cfg, mk())
			out, _ := execIn(ctx, t, cfg, "pvc", "c", "cat", "/data/f")
			require.Equal(t, stamp, strings.TrimSpace(out))
			return ctx
		}).Feature()

	testenv.TestInParallel(t, sharedEmptyDir, configMaps, streams, pvc)
}
