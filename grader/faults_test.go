package grader

// The API server going away in the middle of a grading, without a cluster: a fake API server (real sockets, so
// that client-go's REST and SPDY paths run as they do against a cluster) answers enough for Grade to make the
// namespaces, apply the reference and see its pods Ready, then fails every request from the first exec on. The
// grading must end as a grader error (status "error", exit 3) whose message names the cause, with no check failed.
//
// A real fault-injection test would need a disposable second kind cluster (never the shared "sidecar-lab"): create
// it, grade the reference on it and, once its pods are Ready, `docker pause` (API server hangs) or `docker stop`
// (connection refused) its node container, or stop kube-apiserver's static pod by moving its manifest out of
// /etc/kubernetes/manifests; then assert the same as here, and delete that cluster. Likewise a missing lab image
// (`crictl rmi` on that node) and a broken default StorageClass (delete it, or scale local-path-provisioner to 0)
// can be injected only on a cluster no other grading shares; tests/hostile and the unit tests of exercise and ex3
// cover those decisions with fakes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/sidecar-lab/grader/grader/report"
	"github.com/sidecar-lab/grader/grader/result"
)

// outage is how the fake API server fails once it has gone away.
type outage int

const (
	refused     outage = iota // the listener is closed and every open connection dropped: connection refused, EOF
	unavailable               // every request answers 503 "the server is currently unable to handle the request"
)

// fakeAPIServer is the smallest API server Grade can run against: it stores what is created, reports every pod
// Ready and every claim Bound, and goes away at the first exec.
type fakeAPIServer struct {
	t    *testing.T
	srv  *httptest.Server
	mode outage
	gone atomic.Bool
	// pending keeps every pod Pending (its containers never start), for the wall-clock limits' tests.
	pending bool

	mu      sync.Mutex
	objects map[string]map[string]any // "ns/resource/name" → object
	n       int
}

func newFakeAPIServer(t *testing.T, mode outage) *fakeAPIServer {
	f := &fakeAPIServer{t: t, mode: mode, objects: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.CloseClientConnections(); f.srv.Close() })
	return f
}

func (f *fakeAPIServer) config() *rest.Config {
	return &rest.Config{Host: f.srv.URL, QPS: 1000, Burst: 1000, Timeout: 10 * time.Second,
		ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func status(code int, reason, msg string) map[string]any {
	return map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": msg}
}

func (f *fakeAPIServer) fail(w http.ResponseWriter) {
	if f.mode == unavailable {
		writeJSON(w, 503, status(503, "ServiceUnavailable", "the server is currently unable to handle the request"))
		return
	}
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// goAway makes every later request fail.
func (f *fakeAPIServer) goAway() {
	if f.gone.Swap(true) {
		return
	}
	if f.mode == refused {
		_ = f.srv.Listener.Close() // new connections are refused from now on
	}
}

func (f *fakeAPIServer) serve(w http.ResponseWriter, r *http.Request) {
	if f.gone.Load() {
		f.fail(w)
		return
	}
	path := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "version":
		writeJSON(w, 200, map[string]any{"major": "1", "minor": "34", "gitVersion": "v1.34.0"})
		return
	case strings.HasSuffix(path, "/exec"):
		f.goAway()
		f.fail(w)
		return
	case len(parts) < 3 || parts[0] != "api" || parts[1] != "v1":
		writeJSON(w, 404, status(404, "NotFound", "no such path "+path))
		return
	}
	parts = parts[2:] // namespaces[/ns[/resource[/name]]]
	ns, resource, name := "", "", ""
	switch {
	case len(parts) == 1:
		resource = parts[0]
	case len(parts) == 2:
		resource, name = parts[0], parts[1]
	case len(parts) >= 3:
		ns, resource = parts[1], parts[2]
		if len(parts) >= 4 {
			name = parts[3]
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		var obj map[string]any
		b, _ := io.ReadAll(r.Body)
		require.NoError(f.t, json.Unmarshal(b, &obj))
		md, _ := obj["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			obj["metadata"] = md
		}
		if gn, _ := md["generateName"].(string); gn != "" && md["name"] == nil {
			f.n++
			md["name"] = fmt.Sprintf("%s%05d", gn, f.n)
		}
		if ns != "" {
			md["namespace"] = ns
		}
		f.objects[fmt.Sprintf("%s/%s/%s", ns, resource, md["name"])] = obj
		writeJSON(w, 201, obj)
	case http.MethodPut:
		var obj map[string]any
		b, _ := io.ReadAll(r.Body)
		require.NoError(f.t, json.Unmarshal(b, &obj))
		writeJSON(w, 200, obj)
	case http.MethodDelete:
		delete(f.objects, ns+"/"+resource+"/"+name)
		writeJSON(w, 200, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Success"})
	case http.MethodGet:
		if name == "" {
			kind := map[string]string{"namespaces": "NamespaceList", "events": "EventList", "pods": "PodList"}[resource]
			writeJSON(w, 200, map[string]any{"kind": kind, "apiVersion": "v1", "metadata": map[string]any{}, "items": []any{}})
			return
		}
		if resource == "serviceaccounts" && name == "default" {
			writeJSON(w, 200, map[string]any{"kind": "ServiceAccount", "apiVersion": "v1", "metadata": map[string]any{"name": "default", "namespace": ns}})
			return
		}
		obj, ok := f.objects[ns+"/"+resource+"/"+name]
		if !ok {
			writeJSON(w, 404, status(404, "NotFound", fmt.Sprintf("%s %q not found", resource, name)))
			return
		}
		switch resource {
		case "pods":
			obj["status"] = readyStatus(obj)
			if f.pending {
				obj["status"] = map[string]any{"phase": "Pending"}
			}
		case "persistentvolumeclaims":
			obj["status"] = map[string]any{"phase": "Bound"}
		}
		writeJSON(w, 200, obj)
	default:
		writeJSON(w, 405, status(405, "MethodNotAllowed", r.Method))
	}
}

// readyStatus is a Running, Ready pod's status with every container of pod running.
func readyStatus(pod map[string]any) map[string]any {
	spec, _ := pod["spec"].(map[string]any)
	cs, _ := spec["containers"].([]any)
	var statuses []any
	for _, c := range cs {
		name, _ := c.(map[string]any)["name"].(string)
		statuses = append(statuses, map[string]any{"name": name, "ready": true, "restartCount": 0, "image": "x", "imageID": "x",
			"state": map[string]any{"running": map[string]any{"startedAt": "2026-01-01T00:00:00Z"}}})
	}
	return map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		"containerStatuses": statuses}
}

// TestAPIServerGoesAwayMidGrade: the reference, graded while the API server dies under it, is a grader error
// naming the cause; no check is failed (a zero score a student would have to dispute).
func TestAPIServerGoesAwayMidGrade(t *testing.T) {
	type mode struct {
		name  string
		mode  outage
		cause []string // one of these is in the error message
	}
	modes := []mode{
		{"connection refused", refused, []string{"connection refused", "EOF", "connection reset"}},
		{"503 unable to handle the request", unavailable, []string{"the server is currently unable to handle the request"}},
	}
	// One exercise at a time, each reaches its scenario's first exec (its pod is Ready); all three at once, the
	// outage meets each wherever it is (creating its namespace, applying, waiting for its pod, in its scenario).
	for _, exercises := range [][]string{{"ex1"}, {"ex2"}, {"ex3"}, nil} {
		for _, tt := range modes {
			name := tt.name + ", " + strings.Join(exercises, "+")
			if exercises == nil {
				name = tt.name + ", all exercises"
			}
			t.Run(name, func(t *testing.T) {
				testOutage(t, tt.mode, tt.cause, exercises)
			})
		}
	}
}

func testOutage(t *testing.T, mode outage, cause []string, exercises []string) {
	f := newFakeAPIServer(t, mode)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := []Option{WithRESTConfig(f.config())}
	if exercises != nil {
		opts = append(opts, WithExercises(exercises...))
	}
	s := Grade(ctx, "../reference", opts...)
	require.True(t, f.gone.Load(), "the fake API server went away (some exercise reached an exec)")
	if len(exercises) == 1 {
		assert.Equal(t, result.Passed, s.Find(exercises[0]+".ready").Status, "the outage came once the pod was Ready, mid-scenario")
	}
	assert.Equal(t, result.StatusError, s.Status)
	assert.Equal(t, report.ExitError, report.ExitCode(s, 0), "exit 3: no score should be recorded")
	require.NotNil(t, s.Error)
	named := false
	for _, c := range cause {
		named = named || strings.Contains(*s.Error, c)
	}
	assert.True(t, named, "the error names the cause (%v): %s", cause, *s.Error)
	errored := 0
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			t.Logf("%-20s %-7s %.160s", c.ID, c.Status, c.Message)
			assert.NotEqual(t, result.Failed, c.Status, "%s: a cluster failure is never the student's: %s", c.ID, c.Message)
			if c.Status == result.Error {
				errored++
			}
		}
	}
	assert.Greater(t, errored, 0)
	assert.Equal(t, result.Error, s.Find("adv.graceful-stop").Status, "no pod could be timed: not evaluated, an error")
}

// TestSubmissionWallClockLimit: a grading that runs past its submission's wall-clock limit (here, pods that never
// start and a 3 s limit) stops there, with every runtime check still open an error that names the limit.
func TestSubmissionWallClockLimit(t *testing.T) {
	f := newFakeAPIServer(t, unavailable)
	f.pending = true
	t0 := time.Now()
	s := Grade(context.Background(), "../reference", WithRESTConfig(f.config()), WithSubmissionTimeout(3*time.Second))
	took := time.Since(t0)
	assert.Less(t, took, 45*time.Second, "the limit stops the grading (the ready deadline alone is 90 s)")
	assert.Equal(t, result.StatusError, s.Status)
	assert.Equal(t, report.ExitError, report.ExitCode(s, 0))
	require.NotNil(t, s.Error)
	assert.Contains(t, *s.Error, "ran past its wall-clock limit of 3s")
	for _, e := range s.Exercises {
		for _, c := range e.Checks {
			switch {
			case c.Kind == result.Static:
				assert.NotEqual(t, result.Error, c.Status, "%s: static checks need no cluster", c.ID)
			case e.ID != AdvisoryID:
				assert.Equal(t, result.Error, c.Status, "%s: %s", c.ID, c.Message)
			}
		}
	}
}
