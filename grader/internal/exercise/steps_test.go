package exercise

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Access-log lines as nginx:1.24-alpine writes them. `main` (the image's nginx.conf) ends with
// "$http_x_forwarded_for"; `combined` (nginx's built-in default) does not. nginx escapes `"` as \x22 and `\` as \x5C.
const (
	mainLine = `10.244.0.1 - - [01/Jan/2025:12:00:00 +0000] "GET /?probe=slg-ab-1 HTTP/1.1" 200 615 ` +
		`"http://grader.sidecar-lab/probe/slg-ab-1" "sidecar-lab-grader/0.1.0" "-"`
	combinedLine = `127.0.0.1 - - [01/Jan/2025:12:00:01 +0000] "GET /api?probe=slg-ab-2 HTTP/1.1" 200 52 ` +
		`"http://grader.sidecar-lab/probe/slg-ab-2" "sidecar-lab-grader/0.1.0"`
	trickyLine = `127.0.0.1 - - [01/Jan/2025:12:00:02 +0000] "GET /?probe=slg-ab-5 HTTP/1.1" 200 615 ` +
		`"http://grader.sidecar-lab/probe/slg-ab-5?q=\x22quoted\x22&b=back\x5Cslash" ` +
		`"sidecar-lab-grader/0.1.0 (probe slg-ab-5; \x22quotes\x22 \x5Cbackslash\x5C)" "-"`
	queryLine = `::1 - alice [31/Dec/2024:23:59:59 -0500] "POST /search?q=a+b&page=2&probe=slg-ab-3 HTTP/2.0" 500 0 ` +
		`"-" "-" "203.0.113.9, 10.0.0.1"`
	notFoundLine = `10.244.0.1 - - [01/Jan/2025:12:00:03 +0000] "GET /no-such-page-ab?probe=slg-ab-4 HTTP/1.1" 404 153 ` +
		`"http://grader.sidecar-lab/probe/slg-ab-4" "sidecar-lab-grader/0.1.0" "-"`
)

func TestParseAccess(t *testing.T) {
	tests := []struct {
		name string
		line string
		want AccessEntry
	}{
		{name: "main format", line: mainLine, want: AccessEntry{ClientIP: "10.244.0.1", TimeLocal: "01/Jan/2025:12:00:00 +0000",
			Method: "GET", Path: "/?probe=slg-ab-1", Protocol: "HTTP/1.1", Status: 200, Bytes: 615,
			Referer: "http://grader.sidecar-lab/probe/slg-ab-1", UserAgent: "sidecar-lab-grader/0.1.0"}},
		{name: "combined format (no forwarded-for)", line: combinedLine, want: AccessEntry{ClientIP: "127.0.0.1",
			TimeLocal: "01/Jan/2025:12:00:01 +0000", Method: "GET", Path: "/api?probe=slg-ab-2", Protocol: "HTTP/1.1",
			Status: 200, Bytes: 52, Referer: "http://grader.sidecar-lab/probe/slg-ab-2", UserAgent: "sidecar-lab-grader/0.1.0"}},
		{name: `\x22 and \x5C kept as logged`, line: trickyLine, want: AccessEntry{ClientIP: "127.0.0.1",
			TimeLocal: "01/Jan/2025:12:00:02 +0000", Method: "GET", Path: "/?probe=slg-ab-5", Protocol: "HTTP/1.1",
			Status: 200, Bytes: 615,
			Referer:   `http://grader.sidecar-lab/probe/slg-ab-5?q=\x22quoted\x22&b=back\x5Cslash`,
			UserAgent: `sidecar-lab-grader/0.1.0 (probe slg-ab-5; \x22quotes\x22 \x5Cbackslash\x5C)`}},
		{name: "query string, a user, IPv6, dashes", line: queryLine, want: AccessEntry{ClientIP: "::1",
			TimeLocal: "31/Dec/2024:23:59:59 -0500", Method: "POST", Path: "/search?q=a+b&page=2&probe=slg-ab-3",
			Protocol: "HTTP/2.0", Status: 500, Bytes: 0, Referer: "-", UserAgent: "-"}},
		{name: "404", line: notFoundLine, want: AccessEntry{ClientIP: "10.244.0.1", TimeLocal: "01/Jan/2025:12:00:03 +0000",
			Method: "GET", Path: "/no-such-page-ab?probe=slg-ab-4", Protocol: "HTTP/1.1", Status: 404, Bytes: 153,
			Referer: "http://grader.sidecar-lab/probe/slg-ab-4", UserAgent: "sidecar-lab-grader/0.1.0"}},
		{name: "escaped backslash right before the closing quote", line: `1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "a\x5C" "b\x5C\x22" "-"`,
			want: AccessEntry{ClientIP: "1.2.3.4", TimeLocal: "01/Jan/2025:00:00:00 +0000", Method: "GET", Path: "/",
				Protocol: "HTTP/1.1", Status: 200, Bytes: 1, Referer: `a\x5C`, UserAgent: `b\x5C\x22`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseAccess(tt.line)
			require.True(t, ok, "line should parse: %s", tt.line)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseAccessRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"not an access log line",
		`[PROCESSED] 2025-01-01 12:00:00 - garbage`,
		`10.244.0.1 - - [01/Jan/2025:12:00:00 +0000] "-" 400 0 "-" "-" "-"`,                               // no request line
		`10.244.0.1 - - [01/Jan/2025:12:00:00 +0000] "GET / HTTP/1.1" 200 615 "-"`,                        // no user agent
		`10.244.0.1 - - [01/Jan/2025:12:00:00 +0000] "GET / HTTP/1.1" 2000 615 "-" "-" "-"`,               // status not 3 digits
		`10.244.0.1 - - [01/Jan/2025:12:00:00 +0000] "GET / HTTP/1.1" 200 -1 "-" "-" "-"`,                 // negative size
		`2025/01/01 12:00:00 [error] 29#29: *1 open() "/usr/share/nginx/html/x" failed (2: No such file)`, // error log
	} {
		t.Run(line, func(t *testing.T) {
			_, ok := ParseAccess(line)
			assert.False(t, ok)
		})
	}
}

func TestNginxLogLine(t *testing.T) {
	one := `10.0.0.1 - - [01/Jan/2025:12:00:00 +0000] "GET /?probe=slg-ab-1 HTTP/1.1" 200 615 "-" "ua" "-"`
	ten := `10.0.0.1 - - [01/Jan/2025:12:00:01 +0000] "GET /?probe=slg-ab-10 HTTP/1.1" 200 615 "-" "ua" "-"`
	amp := `10.0.0.1 - - [01/Jan/2025:12:00:02 +0000] "GET /x?probe=slg-ab-2&y=1 HTTP/1.1" 200 615 "-" "ua" "-"`
	dup1 := `10.0.0.1 - - [01/Jan/2025:12:00:03 +0000] "GET /?probe=slg-ab-3 HTTP/1.1" 200 615 "-" "ua" "-"`
	dup2 := `10.0.0.1 - - [01/Jan/2025:12:00:04 +0000] "GET /?probe=slg-ab-3 HTTP/1.1" 304 0 "-" "ua" "-"`
	refOnly := `10.0.0.1 - - [01/Jan/2025:12:00:05 +0000] "GET / HTTP/1.1" 200 615 "http://grader.sidecar-lab/probe/slg-ab-4" "sidecar-lab-grader/0.1.0 (probe slg-ab-4; x)" "-"`
	kubelet := `10.0.0.2 - - [01/Jan/2025:12:00:06 +0000] "GET / HTTP/1.1" 200 615 "-" "kube-probe/1.33" "-"`
	log := NginxLog{kubelet, one, ten, amp, dup1, refOnly, dup2}

	tests := []struct {
		id   string
		line string
		n    int
	}{
		{id: "slg-ab-1", line: one, n: 1},
		{id: "slg-ab-10", line: ten, n: 1},
		{id: "slg-ab-2", line: amp, n: 1},
		{id: "slg-ab-3", line: dup2, n: 2},
		{id: "slg-ab-4", line: "", n: 0}, // only in the Referer/User-Agent, not the request
		{id: "slg-ab-100", line: "", n: 0},
		{id: "slg-ab", line: "", n: 0},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			line, n := log.Line(tt.id)
			assert.Equal(t, tt.n, n)
			if tt.n == 1 {
				assert.Equal(t, tt.line, line)
			}
			if tt.n == 0 {
				assert.Empty(t, line)
			}
			if tt.n > 1 {
				assert.Contains(t, []string{dup1, dup2}, line)
			}
		})
	}
	line, n := NginxLog(nil).Line("slg-ab-1")
	assert.Equal(t, "", line)
	assert.Equal(t, 0, n)
}

func TestLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: "", want: nil},
		{in: "\n", want: nil},
		{in: "\n\n\n", want: nil},
		{in: "a", want: []string{"a"}},
		{in: "a\n", want: []string{"a"}},
		{in: "a\nb\n\n", want: []string{"a", "b"}},
		{in: "a\n\nb", want: []string{"a", "", "b"}},
		{in: "\na", want: []string{"", "a"}},
		{in: "  x  \n", want: []string{"  x  "}},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			assert.Equal(t, tt.want, Lines(tt.in))
		})
	}
}

func TestShowLine(t *testing.T) {
	long := strings.Repeat("x", 299) + "yz" + strings.Repeat("w", 50)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "short", in: "hello", want: `"hello"`},
		{name: "empty", in: "", want: `""`},
		{name: "quotes and backslashes escaped", in: `a"b\c`, want: `"a\"b\\c"`},
		{name: "control characters escaped", in: "a\tb\x00", want: `"a\tb\x00"`},
		{name: "exactly 300", in: strings.Repeat("a", 300), want: strconv.Quote(strings.Repeat("a", 300))},
		{name: "over 300 shortened", in: long, want: strconv.Quote(strings.Repeat("x", 299) + "y…")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ShowLine(tt.in))
		})
	}

	t.Run("shortening keeps whole runes", func(t *testing.T) {
		in := strings.Repeat("a", 299) + "é" + strings.Repeat("b", 10) // "é" spans bytes 299 and 300
		got, err := strconv.Unquote(ShowLine(in))
		require.NoError(t, err)
		assert.True(t, utf8.ValidString(got), "a shortened line is valid UTF-8: %q", got)
		assert.True(t, strings.HasSuffix(got, "…"))
		assert.LessOrEqual(t, len(strings.TrimSuffix(got, "…")), 300)
		assert.True(t, strings.HasPrefix(in, strings.TrimSuffix(got, "…")))
	})
}
