package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
)

// dialErr is the error a client gets from a dial the API server's host refuses, as net/http returns it.
func dialErr(errno syscall.Errno) error {
	return &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api/v1/namespaces/ns/pods/p/log",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "read tcp 10.0.0.1:4711->10.0.0.2:6443: i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsConnectionFailure(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		// The API server (or the way to it) is gone: the cluster's failure.
		{"connection refused", dialErr(syscall.ECONNREFUSED), true},
		{"connection reset", dialErr(syscall.ECONNRESET), true},
		{"no route to host", dialErr(syscall.EHOSTUNREACH), true},
		{"EOF on the transport", &url.Error{Op: "Get", URL: "https://x/api", Err: io.EOF}, true},
		{"unexpected EOF", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), true},
		{"a net.Error timeout", fmt.Errorf("read log: %w", timeoutErr{}), true},
		{"the client's deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), true},
		{"SPDY dial error, flattened with %v", fmt.Errorf("error sending request: %v", dialErr(syscall.ECONNREFUSED)), true},
		{"SPDY EOF, flattened", errors.New(`error sending request: Post "https://127.0.0.1:6443/api/v1/namespaces/ns/pods/p/exec": EOF`), true},
		{"a bare EOF string", errors.New("EOF"), true},
		{"http2 connection lost", errors.New("http2: client connection lost"), true},
		{"TLS handshake timeout", errors.New("net/http: TLS handshake timeout"), true},
		{"a load balancer's 503 page", errors.New("unable to upgrade connection: <html><h1>503 Service Unavailable</h1></html>"), true},
		{"503 unable to handle the request", apierrors.NewServiceUnavailable("the server is currently unable to handle the request"), true},
		{"500 internal error (etcd)", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), true},
		{"500 error dialing the kubelet", apierrors.NewInternalError(errors.New("error dialing backend: dial tcp 172.18.0.2:10250: connect: connection refused")), true},
		{"504 timeout", apierrors.NewTimeoutError("request did not complete within 60s", 0), true},
		{"server timeout", apierrors.NewServerTimeout(pods, "get", 1), true},
		{"429 too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"502 from a proxy", apierrors.NewGenericServerResponse(502, "get", pods, "p", "bad gateway", 0, false), true},
		{"already an InfraError", Infra("create namespace: %v", errors.New("boom")), true},
		// Answers about the student's objects, or the grader stopping: not the cluster's failure.
		{"cancelled by the grader", fmt.Errorf("exec: %w", context.Canceled), false},
		{"400 container not started", apierrors.NewBadRequest(`container "log-sidecar" in pod "web-with-sidecar" is waiting to start: ContainerCreating`), false},
		{"400 previous terminated container not found", apierrors.NewBadRequest(`previous terminated container "app" in pod "p" not found`), false},
		{"404 pod gone", apierrors.NewNotFound(pods, "web-with-sidecar"), false},
		{"403 Pod Security", apierrors.NewForbidden(pods, "p", errors.New(`violates PodSecurity "baseline:latest": privileged`)), false},
		{"409 conflict", apierrors.NewConflict(pods, "p", errors.New("changed")), false},
		{"422 invalid, quoting transport words from the manifest", apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p",
			field.ErrorList{field.Invalid(field.NewPath("metadata", "labels"), "connection refused: EOF", "bad")}), false},
		{"the kubelet's plain-text upgrade refusal", errors.New(`unable to upgrade connection: container not found ("web-app")`), false},
		{"a command's exit status", errors.New("command terminated with exit code 1"), false},
		{"a plain error", errors.New("curl / exited 7"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsConnectionFailure(tt.err), "%v", tt.err)
		})
	}
}

func TestClassify(t *testing.T) {
	refused := dialErr(syscall.ECONNREFUSED)
	got := Classify(refused, "read log of p/c")
	require.True(t, IsInfra(got))
	assert.Contains(t, got.Error(), "read log of p/c")
	assert.Contains(t, got.Error(), "connection refused", "the message names the cause")
	assert.ErrorIs(t, got, syscall.ECONNREFUSED, "the cause stays inspectable")

	ie := Infra("already one")
	assert.Same(t, ie, Classify(ie, "x"), "an InfraError is returned as it is")

	student := apierrors.NewBadRequest("container is waiting to start")
	assert.Same(t, error(student), Classify(student, "x"), "a student's error is returned as it is")
	assert.NoError(t, Classify(nil, "x"))

	assert.NoError(t, OnlyInfra(nil))
	assert.NoError(t, OnlyInfra(student))
	assert.Same(t, ie, OnlyInfra(ie))
}

// roundTripper is a fake transport.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// statusResponse is an API server's answer with a Status body.
func statusResponse(code int, reason metav1.StatusReason, msg string) *http.Response {
	b, _ := json.Marshal(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Code: int32(code), Reason: reason, Message: msg})
	return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": []string{"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(b)))}
}

func sessionWith(t *testing.T, rt http.RoundTripper) *Session {
	t.Helper()
	s, err := NewSession(&rest.Config{Host: "https://apiserver.test", Transport: rt}, "ns")
	require.NoError(t, err)
	return s
}

// TestSessionWhenTheAPIServerIsAway drives the Session through a fake RoundTripper: a refused connection or a 503
// is an InfraError naming the cause; the API server's answers about the pod are not.
func TestSessionWhenTheAPIServerIsAway(t *testing.T) {
	ctx := context.Background()
	refused := sessionWith(t, roundTripper(func(r *http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}))
	unavailable := sessionWith(t, roundTripper(func(r *http.Request) (*http.Response, error) {
		return statusResponse(503, metav1.StatusReasonServiceUnavailable, "the server is currently unable to handle the request"), nil
	}))
	waiting := sessionWith(t, roundTripper(func(r *http.Request) (*http.Response, error) {
		return statusResponse(400, metav1.StatusReasonBadRequest, `container "log-sidecar" in pod "web-with-sidecar" is waiting to start: ContainerCreating`), nil
	}))

	t.Run("Logs, connection refused", func(t *testing.T) {
		_, err := refused.Logs(ctx, "web-with-sidecar", "log-sidecar", LogOptions{})
		require.Error(t, err)
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "connection refused")
		assert.Contains(t, err.Error(), "web-with-sidecar/log-sidecar")
	})
	t.Run("Logs, 503", func(t *testing.T) {
		_, err := unavailable.Logs(ctx, "web-with-sidecar", "log-sidecar", LogOptions{})
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "the server is currently unable to handle the request")
	})
	t.Run("Logs, container waiting: the student's pod", func(t *testing.T) {
		_, err := waiting.Logs(ctx, "web-with-sidecar", "log-sidecar", LogOptions{})
		require.Error(t, err)
		assert.False(t, IsInfra(err), "%v", err)
	})
	t.Run("Pod, connection refused", func(t *testing.T) {
		_, err := refused.Pod(ctx, "web-with-sidecar")
		assert.True(t, IsInfra(err), "%v", err)
	})
	t.Run("SplitStreams, 503: an error, not 'the gate is off'", func(t *testing.T) {
		split, err := unavailable.SplitStreams(ctx, "p", "c")
		assert.False(t, split)
		assert.True(t, IsInfra(err), "%v", err)
	})
	t.Run("SplitStreams, 400: the gate is on", func(t *testing.T) {
		split, err := waiting.SplitStreams(ctx, "p", "c")
		assert.NoError(t, err)
		assert.True(t, split)
	})
	t.Run("the caller's deadline is not the cluster's failure", func(t *testing.T) {
		slow := sessionWith(t, roundTripper(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}))
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := slow.Logs(cctx, "p", "c", LogOptions{})
		require.Error(t, err)
		assert.False(t, IsInfra(err), "%v", err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("Poll: an InfraError from the condition ends it at once", func(t *testing.T) {
		calls := 0
		err := Poll(ctx, time.Minute, time.Millisecond, func(ctx context.Context) (bool, error) {
			calls++
			_, err := refused.Logs(ctx, "p", "c", LogOptions{})
			return false, OnlyInfra(err)
		})
		assert.True(t, IsInfra(err))
		assert.Equal(t, 1, calls)
	})
	t.Run("Poll: the deadline passing during the condition is a timeout", func(t *testing.T) {
		err := Poll(ctx, 30*time.Millisecond, time.Millisecond, func(ctx context.Context) (bool, error) {
			<-ctx.Done()
			return false, fmt.Errorf("get: %w", ctx.Err())
		})
		assert.ErrorIs(t, err, ErrTimeout)
	})
}

// execServer is a fake API server for Exec: exec answers come from handle, GET /version from version.
func execServer(t *testing.T, handle, version http.HandlerFunc) *Session {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/version", version)
	mux.HandleFunc("/", handle)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s, err := NewSession(&rest.Config{Host: srv.URL}, "ns")
	require.NoError(t, err)
	return s
}

func versionOK(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"major":"1","minor":"34","gitVersion":"v1.34.0"}`)
}

// TestExecWhenTheAPIServerIsAway: Exec over SPDY against real sockets (no cluster): a refused connection, a
// connection closed mid-request and a 503 are InfraErrors; the kubelet's refusal (the container is not running)
// and a command outliving its timeout while the API server answers are the student's.
func TestExecWhenTheAPIServerIsAway(t *testing.T) {
	ctx := context.Background()
	cmd := []string{"cat", "/var/log/nginx/access.log"}

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close()) // nothing listens there any more
		s, err := NewSession(&rest.Config{Host: "http://" + addr}, "ns")
		require.NoError(t, err)
		_, err = s.Exec(ctx, "web-with-sidecar", "web-app", cmd, 5*time.Second)
		require.Error(t, err)
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "connection refused")
		assert.Contains(t, err.Error(), "web-with-sidecar/web-app")
	})
	t.Run("connection closed without an answer (EOF)", func(t *testing.T) {
		s := execServer(t, func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}, versionOK)
		_, err := s.Exec(ctx, "p", "c", cmd, 5*time.Second)
		require.Error(t, err)
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "EOF")
	})
	t.Run("503 the server is currently unable to handle the request", func(t *testing.T) {
		s := execServer(t, func(w http.ResponseWriter, r *http.Request) {
			resp := statusResponse(503, metav1.StatusReasonServiceUnavailable, "the server is currently unable to handle the request")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(503)
			_, _ = io.Copy(w, resp.Body)
		}, versionOK)
		_, err := s.Exec(ctx, "p", "c", cmd, 5*time.Second)
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "unable to handle the request")
	})
	t.Run("the kubelet: container not found (a 500 in plain text): the student's", func(t *testing.T) {
		s := execServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `container not found ("web-app")`, http.StatusInternalServerError)
		}, versionOK)
		_, err := s.Exec(ctx, "p", "web-app", cmd, 5*time.Second)
		require.Error(t, err)
		assert.False(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "container not found")
	})
	// A server that accepts the exec and never answers: client-go's SPDY round tripper would wait forever; Exec
	// abandons it past its timeout. The kubelet or the API server is hung, whether /version answers or not.
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}
	defer func(d, g time.Duration) { apiProbeTimeout, execAbandonGrace = d, g }(apiProbeTimeout, execAbandonGrace)
	apiProbeTimeout, execAbandonGrace = 300*time.Millisecond, 100*time.Millisecond
	t.Run("no answer to the exec, /version answers: the cluster's", func(t *testing.T) {
		s := execServer(t, hang, versionOK)
		t0 := time.Now()
		_, err := s.Exec(ctx, "p", "c", cmd, 200*time.Millisecond)
		assert.Less(t, time.Since(t0), 2*time.Second, "Exec returns soon after its timeout")
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "got no answer within 200ms")
	})
	t.Run("no answer at all: the cluster's", func(t *testing.T) {
		s := execServer(t, hang, hang)
		t0 := time.Now()
		_, err := s.Exec(ctx, "p", "c", cmd, 200*time.Millisecond)
		assert.Less(t, time.Since(t0), 2*time.Second, "Exec returns soon after its timeout")
		assert.True(t, IsInfra(err), "%v", err)
		assert.Contains(t, err.Error(), "the API server does not answer")
	})
	t.Run("the caller's cancellation is not the cluster's failure", func(t *testing.T) {
		s := execServer(t, hang, versionOK)
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := s.Exec(cctx, "p", "c", cmd, time.Minute)
		require.Error(t, err)
		assert.False(t, IsInfra(err), "%v", err)
	})
}

// TestRateLimiterNearTheDeadline: client-go's rate limiter refuses a request whose wait would outlast the
// context's deadline before that deadline passes. Near the caller's deadline that is the caller's timeout (a poll
// ends in ErrTimeout, not an error); far from it, the grader is being throttled: the cluster's side.
func TestRateLimiterNearTheDeadline(t *testing.T) {
	podJSON := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns"},"status":{"phase":"Pending"}}`
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": []string{"application/json"}},
			Body: io.NopCloser(strings.NewReader(podJSON))}, nil
	})
	// One request a ~17 minutes after a burst of one: the second request must wait, and the limiter says so at once.
	s, err := NewSession(&rest.Config{Host: "https://apiserver.test", Transport: rt, QPS: 0.001, Burst: 1,
		ContentConfig: rest.ContentConfig{ContentType: "application/json"}}, "ns")
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Pod(ctx, "p")
	require.NoError(t, err, "the burst")

	near, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = s.Pod(near, "p")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "would exceed context deadline")
	assert.False(t, IsInfra(err), "near the caller's deadline: %v", err)

	_, err = s.WaitReady(near, "p", time.Second)
	assert.ErrorIs(t, err, ErrTimeout, "a poll that meets the limiter at its deadline timed out")

	far, cancel2 := context.WithTimeout(ctx, time.Minute)
	defer cancel2()
	_, err = s.Pod(far, "p")
	assert.True(t, IsInfra(err), "a minute from the deadline, the limiter throttles the grader: %v", err)
}
