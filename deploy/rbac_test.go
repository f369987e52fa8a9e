// Package deploy_test checks deploy/grader-rbac.yaml against the grader's code: every API call the grader makes is
// granted, and nothing else is. The calls are listed in a table (with the code that makes each), and the table is
// itself checked against the code: a scan of grader/ finds every client-go call, so a new call without its rule fails
// here rather than on an instructor's cluster.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	rbacFile = "grader-rbac.yaml"
	name     = "sidecar-lab-grader"
)

// access is one API permission: a resource (with its subresource, "pods/log") of an API group, and a verb.
type access struct{ group, resource, verb string }

func (a access) String() string {
	if a.group == "" {
		return a.verb + " " + a.resource
	}
	return a.verb + " " + a.resource + "." + a.group
}

// uses is every API access of the grader, and the code that needs it.
var uses = []struct {
	access
	code string
}{
	{access{"", "namespaces", "create"}, "grader/namespace.go createNamespace"},
	{access{"", "namespaces", "delete"}, "grader/namespace.go deleteNamespace"},
	{access{"", "namespaces", "list"}, "grader/namespace.go CollectLeftovers"},
	{access{"", "resourcequotas", "create"}, "grader/namespace.go createNamespace"},
	{access{"", "limitranges", "create"}, "grader/namespace.go createNamespace"},
	{access{"", "serviceaccounts", "get"}, "grader/namespace.go waitServiceAccount"},
	{access{"", "serviceaccounts", "update"}, "grader/namespace.go waitServiceAccount"},
	{access{"", "pods", "create"}, "grader/internal/kube/session.go Apply"},
	{access{"", "pods", "get"}, "grader/internal/kube/session.go Pod"},
	{access{"", "pods", "delete"}, "grader/internal/kube/session.go DeletePod"},
	{access{"", "pods", "list"}, "grader/batch.go freeMilliCPU"},
	{access{"", "pods/log", "get"}, "grader/internal/kube/session.go Logs, SplitStreams"},
	{access{"", "pods/exec", "create"}, "grader/internal/kube/session.go Exec"},
	{access{"", "configmaps", "create"}, "grader/internal/kube/session.go Apply"},
	{access{"", "services", "create"}, "grader/internal/kube/session.go Apply"},
	{access{"", "secrets", "create"}, "grader/internal/kube/session.go Apply"},
	{access{"", "persistentvolumeclaims", "create"}, "grader/internal/kube/session.go Apply"},
	{access{"", "persistentvolumeclaims", "get"}, "grader/internal/exercises/ex3/storage.go readyCheck, diagnoseClaim"},
	{access{"", "events", "list"}, "grader/internal/kube/session.go Events"},
	{access{"", "nodes", "list"}, "grader/batch.go freeMilliCPU, grader/cluster/cluster.go health"},
	{access{"storage.k8s.io", "storageclasses", "list"}, "grader/cluster/cluster.go health, grader/internal/exercises/ex3/storage.go diagnoseClaim"},
}

// objects are the documents of grader-rbac.yaml, decoded by kind.
type objects struct {
	namespaces []corev1.Namespace
	accounts   []corev1.ServiceAccount
	roles      []rbacv1.ClusterRole
	bindings   []rbacv1.ClusterRoleBinding
}

func load(t *testing.T) objects {
	t.Helper()
	b, err := os.ReadFile(rbacFile)
	require.NoError(t, err)
	var o objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(doc, &meta))
		strict := func(v any) { require.NoError(t, yaml.UnmarshalStrict(doc, v), "%s:\n%s", meta.Kind, doc) }
		switch meta.APIVersion + " " + meta.Kind {
		case "v1 Namespace":
			var x corev1.Namespace
			strict(&x)
			o.namespaces = append(o.namespaces, x)
		case "v1 ServiceAccount":
			var x corev1.ServiceAccount
			strict(&x)
			o.accounts = append(o.accounts, x)
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			var x rbacv1.ClusterRole
			strict(&x)
			o.roles = append(o.roles, x)
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			var x rbacv1.ClusterRoleBinding
			strict(&x)
			o.bindings = append(o.bindings, x)
		default:
			t.Fatalf("%s holds an unexpected %s %s", rbacFile, meta.APIVersion, meta.Kind)
		}
	}
	return o
}

// granted is every access the ClusterRole's rules grant; a wildcard fails the test (least privilege is explicit).
func granted(t *testing.T, role rbacv1.ClusterRole) map[access]bool {
	t.Helper()
	out := map[access]bool{}
	for i, r := range role.Rules {
		require.Empty(t, r.ResourceNames, "rule %d: the grader's objects have generated names", i)
		require.Empty(t, r.NonResourceURLs, "rule %d", i)
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					require.False(t, g == "*" || res == "*" || v == "*" || strings.HasSuffix(res, "/*"), "rule %d: no wildcards", i)
					a := access{g, res, v}
					require.False(t, out[a], "rule %d grants %s twice", i, a)
					out[a] = true
				}
			}
		}
	}
	return out
}

func TestRBACObjects(t *testing.T) {
	o := load(t)
	require.Len(t, o.namespaces, 1)
	require.Len(t, o.accounts, 1)
	require.Len(t, o.roles, 1)
	require.Len(t, o.bindings, 1)
	sa, role, b := o.accounts[0], o.roles[0], o.bindings[0]
	assert.Equal(t, name, sa.Name)
	assert.Equal(t, o.namespaces[0].Name, sa.Namespace, "the ServiceAccount lives in the namespace the file creates")
	if assert.NotNil(t, sa.AutomountServiceAccountToken) {
		assert.False(t, *sa.AutomountServiceAccountToken, "no pod needs this identity's token mounted")
	}
	assert.Equal(t, name, role.Name)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, b.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: sa.Namespace}}, b.Subjects)
}

// TestRBACGrantsExactlyWhatTheGraderUses: every access of the table is granted, and nothing else.
func TestRBACGrantsExactlyWhatTheGraderUses(t *testing.T) {
	g := granted(t, load(t).roles[0])
	want := map[access]bool{}
	for _, u := range uses {
		want[u.access] = true
		assert.True(t, g[u.access], "%s needs %q; add it to %s", u.code, u.access, rbacFile)
	}
	for a := range g {
		assert.True(t, want[a], "%s grants %q, which no code uses: remove it (or add the call to the table)", rbacFile, a)
	}
	// The secrets of the cluster stay unreadable to the grader.
	for _, v := range []string{"get", "list", "watch"} {
		assert.False(t, g[access{"", "secrets", v}], "%s secrets", v)
	}
}

// TestEveryClientCallIsInTheTable scans the grader's code for client-go calls and checks each is in the table.
func TestEveryClientCallIsInTheTable(t *testing.T) {
	found := scan(t, "../grader")
	require.NotEmpty(t, found)
	want := map[access]bool{}
	for _, u := range uses {
		want[u.access] = true
	}
	var keys []string
	for a, where := range found {
		keys = append(keys, a.String())
		assert.True(t, want[a], "%s calls the API (%s) but the table has no %q: add it there and a rule to %s",
			strings.Join(where, ", "), a, a, rbacFile)
	}
	sort.Strings(keys)
	t.Logf("API calls found in grader/: %s", strings.Join(keys, "; "))
	for _, u := range uses {
		assert.Contains(t, found, u.access, "the table lists %q (%s) but no code makes that call any more", u.access, u.code)
	}
}

// typedResources maps client-go's typed accessors (CoreV1().Pods(ns), StorageV1().StorageClasses()) to resources.
var typedResources = map[string]access{
	"Namespaces": {resource: "namespaces"}, "Pods": {resource: "pods"}, "ResourceQuotas": {resource: "resourcequotas"},
	"LimitRanges": {resource: "limitranges"}, "ServiceAccounts": {resource: "serviceaccounts"},
	"PersistentVolumeClaims": {resource: "persistentvolumeclaims"}, "Events": {resource: "events"},
	"Nodes": {resource: "nodes"}, "ConfigMaps": {resource: "configmaps"}, "Services": {resource: "services"},
	"Secrets": {resource: "secrets"}, "StorageClasses": {group: "storage.k8s.io", resource: "storageclasses"},
}

// groupVersions are the typed clients' group accessors and their API groups.
var groupVersions = map[string]string{"CoreV1": "", "StorageV1": "storage.k8s.io"}

// verbs maps client methods to RBAC verbs.
var verbs = map[string]string{
	"Create": "create", "Get": "get", "List": "list", "Watch": "watch", "Update": "update", "UpdateStatus": "update",
	"Patch": "patch", "Apply": "patch", "Delete": "delete", "DeleteCollection": "deletecollection",
}

// scan returns every API access made in the non-test Go files under root, with where each is made. It recognises
// typed calls (cs.CoreV1().Pods(ns).Get(...), ....GetLogs(...)), REST calls with a subresource
// (....RESTClient().Post().Resource("pods")...SubResource("exec")), and dynamic-client calls
// (....Dynamic.Resource(gvr).Namespace(ns).Create(...)), whose resources are the literals of kube's resources map.
func scan(t *testing.T, root string) map[access][]string {
	t.Helper()
	found := map[access][]string{}
	add := func(a access, pos token.Position) {
		found[a] = append(found[a], fmt.Sprintf("%s:%d", strings.TrimPrefix(filepath.ToSlash(pos.Filename), "../"), pos.Line))
	}
	dynamicResources := map[string]bool{}
	var dynamicCalls []struct {
		verb string
		pos  token.Position
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec: // var resources = map[string]schema.GroupVersionResource{...}
				for i, id := range n.Names {
					if id.Name == "resources" && i < len(n.Values) {
						ast.Inspect(n.Values[i], func(m ast.Node) bool {
							if kv, ok := m.(*ast.KeyValueExpr); ok {
								if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Resource" {
									dynamicResources[stringLit(t, kv.Value)] = true
								}
							}
							return true
						})
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				chain := methodChain(n)
				pos := fset.Position(n.Pos())
				switch {
				case sel.Sel.Name == "SubResource": // REST request: HTTP method and resource earlier in the chain
					var res, method string
					for _, c := range chain {
						switch c.name {
						case "Resource":
							res = stringLit(t, c.call.Args[0])
						case "Post":
							method = "create"
						case "Get":
							method = "get"
						case "Put":
							method = "update"
						case "Delete":
							method = "delete"
						}
					}
					require.NotEmpty(t, res, "%s: a REST call without a literal resource", pos)
					require.NotEmpty(t, method, "%s: a REST call without an HTTP method", pos)
					add(access{"", res + "/" + stringLit(t, n.Args[0]), method}, pos)
				case sel.Sel.Name == "GetLogs" && len(chain) >= 3:
					if r, ok := typedResources[chain[len(chain)-2].name]; ok && r.resource == "pods" {
						add(access{"", "pods/log", "get"}, pos)
					}
				case verbs[sel.Sel.Name] != "" && len(chain) >= 3:
					// typed: ...GV().Resource(args).Verb(...)
					res, gv := chain[len(chain)-2], chain[len(chain)-3]
					if g, ok := groupVersions[gv.name]; ok {
						r, known := typedResources[res.name]
						require.True(t, known, "%s: %s().%s() is not in typedResources; add it", pos, gv.name, res.name)
						r.group, r.verb = g, verbs[sel.Sel.Name]
						add(r, pos)
						return true
					}
					// dynamic: ...Dynamic.Resource(gvr)[.Namespace(ns)].Verb(...)
					for _, c := range chain {
						if c.name == "Resource" && c.recv == "Dynamic" {
							dynamicCalls = append(dynamicCalls, struct {
								verb string
								pos  token.Position
							}{verbs[sel.Sel.Name], pos})
						}
					}
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	if len(dynamicCalls) > 0 {
		require.NotEmpty(t, dynamicResources, "dynamic-client calls, but no resources map found")
	}
	for _, c := range dynamicCalls {
		for r := range dynamicResources {
			add(access{"", r, c.verb}, c.pos)
		}
	}
	return found
}

// link is one call of a method chain: its method name, the call, and the name of its receiver when that is a field
// or variable (s.Dynamic.Resource → recv "Dynamic").
type link struct {
	name string
	recv string
	call *ast.CallExpr
}

// methodChain returns the calls of a chain a.B(x).C(y).D(z), innermost first: B, C, D.
func methodChain(call *ast.CallExpr) []link {
	var out []link
	for e := ast.Expr(call); ; {
		c, ok := e.(*ast.CallExpr)
		if !ok {
			break
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			break
		}
		l := link{name: sel.Sel.Name, call: c}
		switch x := sel.X.(type) {
		case *ast.SelectorExpr:
			l.recv = x.Sel.Name
		case *ast.Ident:
			l.recv = x.Name
		}
		out = append([]link{l}, out...)
		e = sel.X
	}
	return out
}

func stringLit(t *testing.T, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	require.True(t, ok && lit.Kind == token.STRING, "expected a string literal, got %T", e)
	s, err := strconv.Unquote(lit.Value)
	require.NoError(t, err)
	return s
}
