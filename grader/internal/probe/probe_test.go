package probe

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	old := Version
	Version = "1.2.3"
	t.Cleanup(func() { Version = old })

	tests := []struct {
		name     string
		run      string
		n        int
		path     string
		wantID   string
		wantPath string
	}{
		{name: "root", run: "ab", n: 1, path: "/", wantID: "slg-ab-1", wantPath: "/?probe=slg-ab-1"},
		{name: "plain path", run: "ab", n: 10, path: "/api", wantID: "slg-ab-10", wantPath: "/api?probe=slg-ab-10"},
		{name: "path with a query", run: "cd", n: 3, path: "/search?q=x", wantID: "slg-cd-3", wantPath: "/search?q=x&probe=slg-cd-3"},
		{name: "path with an empty query", run: "cd", n: 0, path: "/x?", wantID: "slg-cd-0", wantPath: "/x?&probe=slg-cd-0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(tt.run, tt.n, tt.path)
			assert.Equal(t, tt.wantID, p.ID)
			assert.Equal(t, tt.wantPath, p.Path)
			assert.Equal(t, "sidecar-lab-grader/1.2.3", p.UserAgent)
			assert.Equal(t, "sidecar-lab-grader/1.2.3", UserAgent())
			assert.Equal(t, "http://grader.sidecar-lab/probe/"+tt.wantID, p.Referer)
			assert.True(t, strings.HasSuffix(p.Referer, "/"+p.ID), "the Referer names the probe")
			assert.Equal(t, 1, strings.Count(p.Path, "probe="+p.ID), "the ID is in the path once")
		})
	}
}

func TestNewUniqueIDs(t *testing.T) {
	seen := map[string]string{}
	runs := []string{NewRun(), NewRun(), "ab", "ab1"}
	for _, run := range runs {
		for n := 0; n < 25; n++ {
			p := New(run, n, "/")
			if prev, dup := seen[p.ID]; dup {
				t.Fatalf("probe ID %q produced twice (%s and run %s n %d)", p.ID, prev, run, n)
			}
			seen[p.ID] = run
		}
	}
	// "ab" n=11 and "ab1" n=1 must differ: the dash separates the run from the number.
	assert.NotEqual(t, New("ab", 11, "/").ID, New("ab1", 1, "/").ID)
}

func TestNewRun(t *testing.T) {
	a, b := NewRun(), NewRun()
	assert.Regexp(t, `^[0-9a-f]{8}$`, a)
	assert.Regexp(t, `^[0-9a-f]{8}$`, b)
	assert.NotEqual(t, a, b)
}

func TestTricky(t *testing.T) {
	old := Version
	Version = "9.9"
	t.Cleanup(func() { Version = old })

	plain := New("ab", 7, "/")
	p := Tricky("ab", 7, "/")
	assert.Equal(t, plain.ID, p.ID)
	assert.Equal(t, plain.Path, p.Path)
	for name, v := range map[string]string{"Referer": p.Referer, "User-Agent": p.UserAgent} {
		assert.Contains(t, v, `"`, name+" holds a double quote")
		assert.Contains(t, v, `\`, name+" holds a backslash")
	}
	assert.True(t, strings.HasPrefix(p.Referer, plain.Referer), "the Referer still names the probe: %s", p.Referer)
	assert.True(t, strings.HasPrefix(p.UserAgent, "sidecar-lab-grader/9.9"), "the User-Agent still marks the grader: %s", p.UserAgent)
	assert.Contains(t, p.UserAgent, p.ID)
}

func TestCurl(t *testing.T) {
	p := Tricky("ab", 2, "/api")
	argv := p.Curl()
	require.NotEmpty(t, argv)
	assert.Equal(t, "curl", argv[0])
	assert.Equal(t, "http://localhost:80/api?probe=slg-ab-2", argv[len(argv)-1])

	flag := func(name string) string {
		t.Helper()
		for i, a := range argv {
			if a == name && i+1 < len(argv) {
				return argv[i+1]
			}
		}
		t.Fatalf("no %s in %q", name, argv)
		return ""
	}
	assert.Equal(t, p.UserAgent, flag("-A"), "User-Agent passed verbatim as one argument")
	assert.Equal(t, p.Referer, flag("-e"), "Referer passed verbatim as one argument")
	assert.Equal(t, "-", flag("-D"), "headers dumped to stdout")
	assert.Equal(t, "\n%{http_code}", flag("-w"), "status code on its own last line")
	assert.Contains(t, argv, "-sS")
	assert.Contains(t, argv, "-m")
}

func TestParseCurl(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		status  int
		headers map[string][]string
		body    string
	}{
		{
			name:    "CRLF headers and a body",
			out:     "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello\n200",
			status:  200,
			headers: map[string][]string{"server": {"nginx/1.24.0"}, "content-type": {"text/html"}, "content-length": {"5"}},
			body:    "hello",
		},
		{
			name:    "two Content-Type headers kept as two values",
			out:     "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}\n200",
			status:  200,
			headers: map[string][]string{"content-type": {"application/octet-stream", "application/json"}},
			body:    `{"status":"ok"}`,
		},
		{
			name:    "names lower-cased and merged across case",
			out:     "HTTP/1.1 500 Internal Server Error\r\nX-Thing: a\r\nx-thing: b\r\nCONTENT-TYPE: text/plain\r\n\r\nboom\n500",
			status:  500,
			headers: map[string][]string{"x-thing": {"a", "b"}, "content-type": {"text/plain"}},
			body:    "boom",
		},
		{
			name:    "a header value holding a colon",
			out:     "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 12:00:00 GMT\r\nLocation: http://x:80/y\r\n\r\n\n200",
			status:  200,
			headers: map[string][]string{"date": {"Mon, 01 Jan 2024 12:00:00 GMT"}, "location": {"http://x:80/y"}},
			body:    "",
		},
		{
			name:    "a body with blank lines and CRLFs",
			out:     "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<html>\r\n\r\n<body>\n\nmissing\n\n</body>\n</html>\n\n404",
			status:  404,
			headers: map[string][]string{"content-type": {"text/html"}},
			body:    "<html>\r\n\r\n<body>\n\nmissing\n\n</body>\n</html>\n",
		},
		{
			name:    "LF-only headers",
			out:     "HTTP/1.1 200 OK\nContent-Type: text/plain\n\nline1\n\nline2\n200",
			status:  200,
			headers: map[string][]string{"content-type": {"text/plain"}},
			body:    "line1\n\nline2",
		},
		{
			name:    "status line is not a header",
			out:     "HTTP/1.1 200 OK\r\n\r\nx\n200",
			status:  200,
			headers: map[string][]string{},
			body:    "x",
		},
		{
			name:    "trailing whitespace after the status code",
			out:     "HTTP/1.1 204 No Content\r\nServer: nginx\r\n\r\n\n204 \r",
			status:  204,
			headers: map[string][]string{"server": {"nginx"}},
			body:    "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseCurl(tt.out)
			require.NoError(t, err)
			assert.Equal(t, tt.status, r.Status)
			assert.Equal(t, tt.headers, r.Headers)
			assert.Equal(t, tt.body, r.Body)
		})
	}
}

func TestParseCurlErrors(t *testing.T) {
	for _, out := range []string{
		"",
		"garbage",
		"HTTP/1.1 200 OK\r\n\r\nbody\nnot-a-status",
		"HTTP/1.1 200 OK\r\n\r\nbody\n",
		"curl: (7) Failed to connect to localhost port 80\n",
	} {
		t.Run(out, func(t *testing.T) {
			_, err := ParseCurl(out)
			assert.Error(t, err)
		})
	}
}
