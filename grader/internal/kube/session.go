// Package kube is the grader's access to a cluster: one Session per exercise, bound to that exercise's own
// namespace, with bounded log reads, exec with separate stdout and stderr, polling with deadlines, and the
// evidence (container logs, pod events) a failed check attaches.
package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Session is one exercise's view of the cluster: everything it does happens in Namespace.
type Session struct {
	Namespace string
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Config    *rest.Config
	// MaxLogBytes bounds every log read; MaxExecBytes every exec's stdout and stderr.
	MaxLogBytes  int64
	MaxExecBytes int64
}

// NewSession returns a Session for namespace ns.
func NewSession(cfg *rest.Config, ns string) (*Session, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return &Session{Namespace: ns, Client: cs, Dynamic: dc, Config: cfg, MaxLogBytes: 2 << 20, MaxExecBytes: 2 << 20}, nil
}

// InfraError marks a failure of the grader or the cluster (not of the student's work). Diagnosed marks one whose
// cause the grader has already found and named (a lab image missing from the node, a claim the provisioner did not
// provision), which needs no further investigation.
type InfraError struct {
	Err       error
	Diagnosed bool
}

func (e *InfraError) Error() string { return e.Err.Error() }
func (e *InfraError) Unwrap() error { return e.Err }

// Infra wraps err as an InfraError with context.
func Infra(format string, a ...any) error { return &InfraError{Err: fmt.Errorf(format, a...)} }

// APIFailure is an InfraError for a request to the API server that failed (no answer, or its own failure): doing
// says what the grader was doing, and the message says the API server is the cause.
func APIFailure(doing string, err error) error {
	return &InfraError{Err: fmt.Errorf("%s: the API server did not answer or failed: %w", doing, err)}
}

// Diagnosed is an InfraError whose message names the cause the grader found.
func Diagnosed(format string, a ...any) error {
	return &InfraError{Err: fmt.Errorf(format, a...), Diagnosed: true}
}

// IsDiagnosed reports whether err is (or wraps) a Diagnosed InfraError.
func IsDiagnosed(err error) bool {
	var ie *InfraError
	return errors.As(err, &ie) && ie.Diagnosed
}

// IsInfra reports whether err is (or wraps) an InfraError.
func IsInfra(err error) bool {
	var ie *InfraError
	return errors.As(err, &ie)
}

// resources maps the kinds a submission may declare to their API resources.
var resources = map[string]schema.GroupVersionResource{
	"Pod":                   {Version: "v1", Resource: "pods"},
	"ConfigMap":             {Version: "v1", Resource: "configmaps"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"Service":               {Version: "v1", Resource: "services"},
	"Secret":                {Version: "v1", Resource: "secrets"},
}

// ApplyError is the API server refusing a student's object (invalid spec, Pod Security, quota): a student failure.
type ApplyError struct {
	Object string
	Err    error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("the API server refused %s: %v", e.Object, e.Err)
}

// Apply creates each object in the session's namespace, whatever its metadata.namespace says; objects that
// already exist are left as they are (like `kubectl apply` of an unchanged file). Pods never get a service account
// token. Only the kinds in resources are accepted (policy has refused the rest before).
func (s *Session) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		gvr, ok := resources[o.GetKind()]
		if !ok || o.GetAPIVersion() != "v1" {
			return &ApplyError{Object: o.GetKind() + "/" + o.GetName(), Err: errors.New("kind not allowed")}
		}
		obj := o.DeepCopy()
		obj.SetNamespace(s.Namespace)
		obj.SetResourceVersion("")
		obj.SetUID("")
		unstructured.RemoveNestedField(obj.Object, "status")
		if obj.GetKind() == "Pod" {
			_ = unstructured.SetNestedField(obj.Object, false, "spec", "automountServiceAccountToken")
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := s.Dynamic.Resource(gvr).Namespace(s.Namespace).Create(cctx, obj, metav1.CreateOptions{FieldValidation: "Strict"})
		cancel()
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
		case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsRequestEntityTooLargeError(err), studentForbidden(err):
			return &ApplyError{Object: obj.GetKind() + "/" + obj.GetName(), Err: err}
		default:
			return APIFailure(fmt.Sprintf("create %s/%s in %s", obj.GetKind(), obj.GetName(), s.Namespace), err)
		}
	}
	return nil
}

// studentForbidden tells a 403 caused by the submission (Pod Security admission, the namespace's quota or limit
// range) from one caused by the grader's own RBAC, which is an infrastructure failure.
func studentForbidden(err error) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"violates PodSecurity", "exceeded quota", "maximum cpu usage", "maximum memory usage", "must specify"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Poll calls cond every interval until it returns true, an error, or timeout passes; on timeout it returns
// ErrTimeout. When ctx itself ends first, Poll returns ctx's error: context.Canceled as it is (the grading is being
// stopped), a deadline as an InfraError naming ctx's cause (a wall-clock limit of the grader passed: the student's
// deadline did not).
func Poll(ctx context.Context, timeout, interval time.Duration, cond func(ctx context.Context) (bool, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ended := func() error {
		if err := parent.Err(); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return &InfraError{Err: fmt.Errorf("stopped waiting: %w", context.Cause(parent))}
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err()
		}
		return ErrTimeout
	}
	for {
		done, err := cond(ctx)
		if err != nil {
			if !IsInfra(err) && callerDeadline(ctx, err) {
				// The deadline passed (or was about to) while cond was talking to the cluster: a timeout, not cond's
				// failure.
				return ended()
			}
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ended()
		case <-time.After(interval):
		}
	}
}

// ErrTimeout is returned by Poll when its deadline passes.
var ErrTimeout = errors.New("deadline passed")

// Pod returns the pod named name.
func (s *Session) Pod(ctx context.Context, name string) (*corev1.Pod, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	p, err := s.Client.CoreV1().Pods(s.Namespace).Get(cctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		if callerDeadline(ctx, err) { // the caller's deadline, not the cluster's failure
			return nil, fmt.Errorf("get pod %s: %w", name, err)
		}
		return nil, APIFailure("get pod "+name, err)
	}
	return p, err
}

// PodState describes a pod in one line, for messages: phase, readiness, and each container's state.
func PodState(p *corev1.Pod) string {
	if p == nil {
		return "no pod"
	}
	var parts []string
	parts = append(parts, "phase "+string(p.Status.Phase))
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			parts = append(parts, "unschedulable: "+c.Message)
		}
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		st := "ready"
		switch {
		case cs.State.Waiting != nil:
			st = "waiting (" + cs.State.Waiting.Reason + ")"
			if cs.State.Waiting.Message != "" {
				st += ": " + firstLine(cs.State.Waiting.Message)
			}
		case cs.State.Terminated != nil:
			st = fmt.Sprintf("terminated (%s, exit %d)", cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		case !cs.Ready:
			st = "running, not ready"
		}
		if cs.RestartCount > 0 {
			st += fmt.Sprintf(", %d restarts", cs.RestartCount)
		}
		parts = append(parts, cs.Name+" "+st)
	}
	return strings.Join(parts, "; ")
}

// IsReady reports whether the pod is Ready with every container running.
func IsReady(p *corev1.Pod) bool {
	if p == nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready || len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil || !cs.Ready {
			return false
		}
	}
	return true
}

// WaitReady waits until pod name is Ready with every container running. On timeout it returns the last pod
// seen (maybe nil) and ErrTimeout.
func (s *Session) WaitReady(ctx context.Context, name string, timeout time.Duration) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := Poll(ctx, timeout, time.Second, func(ctx context.Context) (bool, error) {
		p, err := s.Pod(ctx, name)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last = p
		return IsReady(p), nil
	})
	return last, err
}

// Restarts returns each container's restart count.
func (s *Session) Restarts(ctx context.Context, name string) (map[string]int32, error) {
	p, err := s.Pod(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, cs := range p.Status.ContainerStatuses {
		out[cs.Name] = cs.RestartCount
	}
	return out, nil
}

// ExecResult is what a command run in a container printed, each stream bounded.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// execAbandonGrace is how long Exec waits, past its timeout, for a stream to end on its own before abandoning it.
var execAbandonGrace = 5 * time.Second

// Exec runs cmd in container of pod, with stdout and stderr apart. A non-zero exit is reported in ExitCode, not
// as an error. err is an InfraError when the API server could not be reached or failed (IsConnectionFailure), or the
// command timed out and the API server does not answer either; it is a plain error when the container could not run
// the command (not running, gone) or the command outlived timeout while the API server answers (the student's).
func (s *Session) Exec(ctx context.Context, pod, container string, cmd []string, timeout time.Duration) (ExecResult, error) {
	req := s.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(s.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(s.Config, "POST", req.URL())
	if err != nil {
		return ExecResult{}, APIFailure("exec in "+pod+"/"+container, err)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var so, se limitedBuffer
	so.max, se.max = s.MaxExecBytes, s.MaxExecBytes
	// client-go's SPDY round tripper does not watch the context while it waits for the upgrade answer, so an API
	// server that accepts the connection and never answers would hold StreamWithContext (and the grading) forever:
	// the stream runs aside, and past the timeout (and a grace period to return on its own) it is abandoned. It
	// ends when the connection does; its output, still being written, is not read.
	done := make(chan error, 1)
	go func() { done <- ex.StreamWithContext(cctx, remotecommand.StreamOptions{Stdout: &so, Stderr: &se}) }()
	select {
	case err = <-done:
	case <-cctx.Done():
		select {
		case err = <-done:
		case <-time.After(execAbandonGrace):
			what := fmt.Sprintf("exec %q in %s/%s", strings.Join(cmd, " "), pod, container)
			if callerDeadline(ctx, err) {
				return ExecResult{}, fmt.Errorf("%s: %w", what, context.Cause(ctx))
			}
			if aerr := s.apiAnswers(ctx); aerr != nil {
				return ExecResult{}, Infra("%s got no answer within %s, and the API server does not answer: %v", what, timeout, aerr)
			}
			return ExecResult{}, Infra("%s got no answer within %s (the API server answers other requests, but not this exec)", what, timeout)
		}
	}
	res := ExecResult{Stdout: so.String(), Stderr: se.String()}
	if err != nil {
		var ee interface{ ExitStatus() int }
		if errors.As(err, &ee) {
			res.ExitCode = ee.ExitStatus()
			return res, nil
		}
		what := fmt.Sprintf("exec %q in %s/%s", strings.Join(cmd, " "), pod, container)
		switch {
		case callerDeadline(ctx, err): // the caller's deadline or cancellation
			return res, fmt.Errorf("%s: %w", what, err)
		case cctx.Err() != nil:
			if aerr := s.apiAnswers(ctx); aerr != nil {
				return res, Infra("%s did not finish within %s, and the API server does not answer: %v", what, timeout, aerr)
			}
			return res, fmt.Errorf("%s did not finish within %s", what, timeout)
		}
		if ierr := Classify(err, what); IsInfra(ierr) {
			return res, ierr
		}
		// The container may be gone or not running: that is the student's pod failing, not the cluster.
		return res, fmt.Errorf("%s failed: %v", what, err)
	}
	return res, nil
}

// Stream selects which of a container's streams a log read returns.
type Stream string

// Streams a log read can select.
const (
	All    Stream = ""
	Stdout Stream = "Stdout"
	Stderr Stream = "Stderr"
)

// LogOptions bound a log read.
type LogOptions struct {
	Stream   Stream
	Since    time.Time // zero = from the start
	Previous bool
	Tail     int64 // lines from the end; only with Stream All
}

// Logs reads a container's log, bounded by MaxLogBytes. err is an InfraError when the API server could not be
// reached or failed (IsConnectionFailure), or the read timed out and the API server does not answer either; it is a
// plain error when the API server answered that the log cannot be read (container not started, no previous
// instance): the student's pod.
func (s *Session) Logs(ctx context.Context, pod, container string, o LogOptions) (string, error) {
	lim := s.MaxLogBytes
	opts := &corev1.PodLogOptions{Container: container, LimitBytes: &lim, Previous: o.Previous}
	if o.Stream != All {
		st := string(o.Stream)
		opts.Stream = &st
	}
	if !o.Since.IsZero() {
		t := metav1.NewTime(o.Since)
		opts.SinceTime = &t
	}
	if o.Tail > 0 {
		opts.TailLines = &o.Tail
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	b, err := s.Client.CoreV1().Pods(s.Namespace).GetLogs(pod, opts).DoRaw(cctx)
	if err != nil {
		what := fmt.Sprintf("read log of %s/%s", pod, container)
		switch {
		case callerDeadline(ctx, err): // the caller's deadline or cancellation
			return "", fmt.Errorf("%s: %w", what, err)
		case cctx.Err() != nil:
			if aerr := s.apiAnswers(ctx); aerr != nil {
				return "", Infra("%s got no answer within 20 s, and the API server does not answer: %v", what, aerr)
			}
			return "", fmt.Errorf("%s: no answer within 20 s", what)
		}
		if ierr := Classify(err, what); IsInfra(ierr) {
			return "", ierr
		}
		return "", fmt.Errorf("%s: %v", what, err)
	}
	return string(b), nil
}

// SplitStreams reports whether the cluster returns a container's stdout apart from its stderr
// (PodLogsQuerySplitStreams). With the gate on, the API server refuses `stream` combined with `tailLines`; with it
// off, the stream field is dropped and the request succeeds. err is an InfraError when the API server could not be
// reached or failed (the answer would otherwise read as "gate off" and skip a check).
func (s *Session) SplitStreams(ctx context.Context, pod, container string) (bool, error) {
	st, tail := string(Stderr), int64(1)
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := s.Client.CoreV1().Pods(s.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Stream: &st, TailLines: &tail}).DoRaw(cctx)
	if err != nil && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) && !callerDeadline(ctx, err) {
		if ierr := Classify(err, "ask whether the cluster splits log streams"); IsInfra(ierr) {
			return false, ierr
		}
	}
	return err != nil && (apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)), nil
}

// Events returns the events of an object, oldest first, one line each.
func (s *Session) Events(ctx context.Context, kind, name string) []string {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	el, err := s.Client.CoreV1().Events(s.Namespace).List(cctx, metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + name + ",involvedObject.kind=" + kind})
	if err != nil {
		return []string{"(events unavailable: " + err.Error() + ")"}
	}
	sort.Slice(el.Items, func(i, j int) bool { return eventTime(el.Items[i]).Before(eventTime(el.Items[j])) })
	var out []string
	for _, e := range el.Items {
		out = append(out, fmt.Sprintf("%s %s %s: %s", eventTime(e).Format("15:04:05"), e.Type, e.Reason, strings.TrimSpace(e.Message)))
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// Evidence gathers what an instructor asks for when a check fails: the pod's state, the last lines of every
// container's log (and of its previous instance after a restart), and the pod's events.
func (s *Session) Evidence(ctx context.Context, pod string, tail int64) []string {
	p, err := s.Pod(ctx, pod)
	if err != nil || p == nil {
		return []string{fmt.Sprintf("pod %s: not found (%v)", pod, err)}
	}
	out := []string{"pod " + pod + ": " + PodState(p)}
	for _, c := range p.Spec.Containers {
		log, err := s.Logs(ctx, pod, c.Name, LogOptions{Tail: tail})
		if err != nil {
			log = "(log unavailable: " + err.Error() + ")"
		}
		out = append(out, fmt.Sprintf("container %s, last %d log lines:\n%s", c.Name, tail, strings.TrimRight(log, "\n")))
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == c.Name && cs.RestartCount > 0 {
				prev, err := s.Logs(ctx, pod, c.Name, LogOptions{Tail: tail, Previous: true})
				if err == nil {
					out = append(out, fmt.Sprintf("container %s, previous instance, last %d log lines:\n%s", c.Name, tail, strings.TrimRight(prev, "\n")))
				}
			}
		}
	}
	if ev := s.Events(ctx, "Pod", pod); len(ev) > 0 {
		out = append(out, "events of pod "+pod+":\n"+strings.Join(ev, "\n"))
	}
	return out
}

// DeletePod deletes a pod with the given grace period (nil = the pod's own).
func (s *Session) DeletePod(ctx context.Context, name string, grace *int64) error {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := s.Client.CoreV1().Pods(s.Namespace).Delete(cctx, name, metav1.DeleteOptions{GracePeriodSeconds: grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return APIFailure("delete pod "+name, err)
	}
	return nil
}

// WaitGone waits until pod name no longer exists.
func (s *Session) WaitGone(ctx context.Context, name string, timeout time.Duration) error {
	return Poll(ctx, timeout, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := s.Pod(ctx, name)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// limitedBuffer keeps at most max bytes and drops the rest (counting them).
type limitedBuffer struct {
	buf     bytes.Buffer
	max     int64
	dropped int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(b.buf.Len())
	if room <= 0 {
		b.dropped += int64(len(p))
		return len(p), nil
	}
	if int64(len(p)) > room {
		b.buf.Write(p[:room])
		b.dropped += int64(len(p)) - room
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string {
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[... %d more bytes dropped]", b.dropped)
	}
	return b.buf.String()
}

var _ io.Writer = (*limitedBuffer)(nil)

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
