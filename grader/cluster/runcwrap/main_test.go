package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The capabilities our CI VM lacks (CAP_SYS_RESOURCE) and two more, to check every set loses each of them.
var missing = map[string]bool{"CAP_SYS_RESOURCE": true, "CAP_BPF": true, "CAP_PERFMON": true}

// globalFlags are the runc global flags containerd passes before the subcommand.
var globalFlags = []string{"--root", "/run/containerd/runc/k8s.io", "--log", "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/log.json",
	"--log-format", "json", "--systemd-cgroup"}

// copyTestdata copies testdata/name into a fresh directory and returns the copy's path.
func copyTestdata(t *testing.T, name string, perm os.FileMode) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b, perm))
	require.NoError(t, os.Chmod(path, perm))
	return path
}

// decodeExact decodes JSON keeping numbers as written.
func decodeExact(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	return m
}

// withoutMissing decodes b and removes the missing capabilities from the process's sets (doc["process"] when
// process is true, else the document itself), independently of dropCaps.
func withoutMissing(t *testing.T, b []byte, process bool) map[string]any {
	t.Helper()
	doc := decodeExact(t, b)
	p := doc
	if process {
		p = doc["process"].(map[string]any)
	}
	caps := p["capabilities"].(map[string]any)
	for set, v := range caps {
		var kept []any
		for _, c := range v.([]any) {
			if !missing[c.(string)] {
				kept = append(kept, c)
			}
		}
		if kept == nil {
			kept = []any{}
		}
		caps[set] = kept
	}
	return doc
}

func TestCapNames(t *testing.T) {
	// Bit numbers from linux/capability.h.
	for bit, name := range map[int]string{0: "CAP_CHOWN", 12: "CAP_NET_ADMIN", 21: "CAP_SYS_ADMIN", 24: "CAP_SYS_RESOURCE",
		37: "CAP_AUDIT_READ", 38: "CAP_PERFMON", 39: "CAP_BPF", 40: "CAP_CHECKPOINT_RESTORE"} {
		assert.Equal(t, name, capNames[bit], "bit %d", bit)
	}
	assert.Len(t, capNames, 41)
}

func TestSubcommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		cmd  string
		rest []string
	}{
		{name: "bare", args: []string{"create", "--bundle", "/b", "id"}, cmd: "create", rest: []string{"--bundle", "/b", "id"}},
		{name: "containerd's global flags", args: append(append([]string{}, globalFlags...), "exec", "--process", "/p.json", "id"),
			cmd: "exec", rest: []string{"--process", "/p.json", "id"}},
		{name: "flags with =", args: []string{"--root=/r", "--log=/l", "--debug", "start", "id"}, cmd: "start", rest: []string{"id"}},
		{name: "--rootless takes a value", args: []string{"--rootless", "auto", "--criu", "/usr/sbin/criu", "delete", "--force", "id"},
			cmd: "delete", rest: []string{"--force", "id"}},
		{name: "a value that looks like a subcommand", args: []string{"--log-format", "text", "--root", "run", "state", "id"},
			cmd: "state", rest: []string{"id"}},
		{name: "no subcommand", args: []string{"--version"}, cmd: "", rest: nil},
		{name: "nothing", args: nil, cmd: "", rest: nil},
		{name: "dangling value flag", args: []string{"--root"}, cmd: "", rest: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, rest := subcommand(tt.args)
			assert.Equal(t, tt.cmd, cmd)
			assert.Equal(t, tt.rest, rest)
		})
	}
}

func TestFlagValue(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "long", args: []string{"--bundle", "/b", "id"}, want: "/b"},
		{name: "short", args: []string{"-b", "/b", "id"}, want: "/b"},
		{name: "equals", args: []string{"--bundle=/b", "id"}, want: "/b"},
		{name: "short equals", args: []string{"-b=/b", "id"}, want: "/b"},
		{name: "after other flags", args: []string{"--pid-file", "/p", "--console-socket", "/s", "-b", "/b", "id"}, want: "/b"},
		{name: "absent", args: []string{"--pid-file", "/p", "id"}, want: ""},
		{name: "no value", args: []string{"--bundle"}, want: ""},
		{name: "prefix of another flag", args: []string{"--bundles", "/x", "-bx", "id"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, flagValue(tt.args, "--bundle", "-b"))
		})
	}
	assert.Equal(t, "/p.json", flagValue([]string{"--pid-file", "/pid", "-p", "/p.json", "id"}, "--process", "-p"))
	assert.Equal(t, "", flagValue([]string{"--pid-file=/pid", "id"}, "--process", "-p"))
}

func TestDropCaps(t *testing.T) {
	tests := []struct {
		name string
		proc map[string]any
		want map[string]any
	}{
		{name: "every set loses the missing ones", proc: map[string]any{"capabilities": map[string]any{
			"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_BPF"},
			"effective": []any{"CAP_SYS_RESOURCE"},
			"ambient":   []any{},
		}}, want: map[string]any{"capabilities": map[string]any{
			"bounding":  []any{"CAP_CHOWN"},
			"effective": []any{},
			"ambient":   []any{},
		}}},
		{name: "no capabilities", proc: map[string]any{"args": []any{"sh"}}, want: map[string]any{"args": []any{"sh"}}},
		{name: "odd values kept", proc: map[string]any{"capabilities": map[string]any{
			"bounding": nil, "effective": []any{json.Number("24"), "CAP_SYS_RESOURCE", "CAP_KILL"},
		}}, want: map[string]any{"capabilities": map[string]any{
			"bounding": nil, "effective": []any{json.Number("24"), "CAP_KILL"},
		}}},
		{name: "capabilities not an object", proc: map[string]any{"capabilities": "x"}, want: map[string]any{"capabilities": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dropCaps(tt.proc, missing)
			assert.Equal(t, tt.want, tt.proc)
		})
	}
}

func TestRewriteBundle(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	require.NoError(t, err)
	want := withoutMissing(t, orig, true)

	tests := []struct {
		name string
		args func(dir string) []string
	}{
		{name: "create --bundle DIR", args: func(d string) []string { return []string{"create", "--bundle", d, "id"} }},
		{name: "create -b DIR", args: func(d string) []string { return []string{"create", "-b", d, "id"} }},
		{name: "create --bundle=DIR", args: func(d string) []string { return []string{"create", "--bundle=" + d, "id"} }},
		{name: "run -b DIR", args: func(d string) []string { return []string{"run", "-d", "-b", d, "id"} }},
		{name: "global flags, then create", args: func(d string) []string {
			return append(append([]string{}, globalFlags...), "create", "--bundle", d, "--pid-file", d+"/init.pid", "--console-socket", "/s.sock", "id")
		}},
		{name: "global flags with =, then run", args: func(d string) []string {
			return []string{"--root=/r", "--log=/l", "--log-format=json", "--systemd-cgroup", "run", "--bundle=" + d, "id"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyTestdata(t, "config.json", 0o600)
			require.NoError(t, rewrite(tt.args(filepath.Dir(path)), missing))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, want, decodeExact(t, got), "only the missing capabilities are gone")
			for _, n := range []string{"18446744073709551615", "9223372036854771712", "1048576", "-998"} {
				assert.Contains(t, string(got), n, "large and negative integers are written exactly")
			}
			for _, c := range []string{"CAP_SYS_RESOURCE", "CAP_BPF"} {
				assert.NotContains(t, string(got), c)
			}
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the file keeps its mode")
		})
	}

	t.Run("create without --bundle edits ./config.json", func(t *testing.T) {
		path := copyTestdata(t, "config.json", 0o644)
		t.Chdir(filepath.Dir(path))
		require.NoError(t, rewrite(append(append([]string{}, globalFlags...), "create", "id"), missing))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, want, decodeExact(t, got))
	})
}

func TestRewriteExec(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "process.json"))
	require.NoError(t, err)
	want := withoutMissing(t, orig, false)

	for _, args := range [][]string{
		{"exec", "--process", "FILE", "id"},
		{"exec", "-p", "FILE", "id"},
		{"exec", "--process=FILE", "id"},
		append(append([]string{}, globalFlags...), "exec", "--process", "FILE", "--detach", "--pid-file", "/x.pid", "id"),
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			path := copyTestdata(t, "process.json", 0o600)
			a := make([]string, len(args))
			for i, s := range args {
				a[i] = strings.ReplaceAll(s, "FILE", path)
			}
			require.NoError(t, rewrite(a, missing))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			doc := decodeExact(t, got)
			assert.Equal(t, want, doc)
			assert.Equal(t, []any{"CAP_KILL"}, doc["capabilities"].(map[string]any)["effective"])
			assert.Equal(t, []any{"sh", "-c", `echo "hi" \ there`}, doc["args"])
		})
	}
}

// TestRewriteTouchesNothing: rewrite leaves the bundle's config.json and a process file byte for byte as they were.
func TestRewriteTouchesNothing(t *testing.T) {
	tests := []struct {
		name    string
		args    func(bundle, proc string) []string
		missing map[string]bool
	}{
		{name: "start", args: func(b, _ string) []string { return []string{"start", "id"} }, missing: missing},
		{name: "delete", args: func(b, _ string) []string {
			return append(append([]string{}, globalFlags...), "delete", "--force", "id")
		}, missing: missing},
		{name: "state", args: func(b, _ string) []string { return []string{"state", "id"} }, missing: missing},
		{name: "kill", args: func(b, _ string) []string { return []string{"kill", "id", "9"} }, missing: missing},
		{name: "update with a resources file", args: func(_, p string) []string { return []string{"update", "--resources", p, "id"} }, missing: missing},
		{name: "exec without --process", args: func(_, _ string) []string { return []string{"exec", "--cap", "CAP_KILL", "id", "sh"} }, missing: missing},
		{name: "no subcommand", args: func(_, _ string) []string { return []string{"--version"} }, missing: missing},
		{name: "create, empty missing-set", args: func(b, _ string) []string { return []string{"create", "--bundle", b, "id"} }, missing: map[string]bool{}},
		{name: "create, nil missing-set", args: func(b, _ string) []string { return []string{"create", "-b", b, "id"} }, missing: nil},
		{name: "exec, empty missing-set", args: func(_, p string) []string { return []string{"exec", "--process", p, "id"} }, missing: map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := copyTestdata(t, "config.json", 0o644)
			proc := copyTestdata(t, "process.json", 0o644)
			t.Chdir(filepath.Dir(cfg)) // a default bundle of "." must not be edited either
			before := map[string][]byte{}
			for _, p := range []string{cfg, proc} {
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				before[p] = b
			}
			require.NoError(t, rewrite(tt.args(filepath.Dir(cfg), proc), tt.missing))
			for p, b := range before {
				got, err := os.ReadFile(p)
				require.NoError(t, err)
				assert.Equal(t, string(b), string(got), "%s untouched", filepath.Base(p))
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"process": `), 0o644))

	err := rewrite([]string{"create", "--bundle", filepath.Join(dir, "nope"), "id"}, missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.json")

	err = rewrite([]string{"create", "--bundle", dir, "id"}, missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse")
	b, _ := os.ReadFile(bad)
	assert.Equal(t, `{"process": `, string(b), "a file that cannot be parsed is left alone")

	err = rewrite([]string{"exec", "--process", filepath.Join(dir, "missing.json"), "id"}, missing)
	assert.Error(t, err)
}

func TestEditJSONNoProcess(t *testing.T) {
	// A config without a process object (runc would refuse it) is written back with every field intact.
	path := filepath.Join(t.TempDir(), "config.json")
	in := `{"ociVersion":"1.2.0","linux":{"resources":{"memory":{"limit":18446744073709551615}}},"f":1.50}`
	require.NoError(t, os.WriteFile(path, []byte(in), 0o644))
	require.NoError(t, rewrite([]string{"create", "--bundle", filepath.Dir(path), "id"}, missing))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, decodeExact(t, []byte(in)), decodeExact(t, got))
	assert.Contains(t, string(got), "18446744073709551615")
	assert.Contains(t, string(got), "1.50")
}
