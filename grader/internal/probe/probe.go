// Package probe makes the grader's own HTTP traffic recognisable. Every request carries a unique probe ID in its
// query, a User-Agent of sidecar-lab-grader/<version> and a Referer naming the probe, so that assertions count only
// marked lines: kubelet probes and a student's own traffic never confuse them.
package probe

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// Version is the grader version carried in the User-Agent; set by the grader package.
var Version = "dev"

// UserAgent is the grader's User-Agent.
func UserAgent() string { return "sidecar-lab-grader/" + Version }

// Probe is one marked request.
type Probe struct {
	ID        string // unique, e.g. "p3f9a0c1d-4"
	Path      string // path and query sent, holding the ID
	Referer   string
	UserAgent string
}

// NewRun returns a short random prefix shared by one exercise's probes.
func NewRun() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New returns probe number n of run for path (which must start with "/"), with the ID in the query.
func New(run string, n int, path string) Probe {
	id := fmt.Sprintf("slg-%s-%d", run, n)
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return Probe{
		ID:        id,
		Path:      path + sep + "probe=" + id,
		Referer:   "http://grader.sidecar-lab/probe/" + id,
		UserAgent: UserAgent(),
	}
}

// Tricky returns a probe whose Referer and User-Agent hold a double quote and a backslash: nginx logs them as \x22
// and \x5C, and a shell `read` without -r mangles the backslashes.
func Tricky(run string, n int, path string) Probe {
	p := New(run, n, path)
	p.Referer += `?q="quoted"&b=back\slash`
	p.UserAgent += ` (probe ` + p.ID + `; "quotes" \backslash\)`
	return p
}

// Curl returns the argv that sends p to the server on localhost:80 from inside a container that has curl: it prints
// the response headers and body to stdout, the status code on the last line.
func (p Probe) Curl() []string {
	return []string{"curl", "-sS", "-m", "8", "-D", "-", "-A", p.UserAgent, "-e", p.Referer,
		"-w", "\n%{http_code}", "http://localhost:80" + p.Path}
}

// Response is a parsed curl response.
type Response struct {
	Status  int
	Headers map[string][]string // lower-cased names
	Body    string
}

// ParseCurl parses the output of Curl.
func ParseCurl(out string) (Response, error) {
	r := Response{Headers: map[string][]string{}}
	i := strings.LastIndex(out, "\n")
	if i < 0 {
		return r, fmt.Errorf("no status code in curl output %q", out)
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(out[i+1:]), "%d", &r.Status); err != nil {
		return r, fmt.Errorf("no status code in curl output %q", out)
	}
	rest := out[:i]
	head, body, ok := strings.Cut(rest, "\r\n\r\n")
	if !ok {
		head, body, _ = strings.Cut(rest, "\n\n")
	}
	r.Body = body
	for _, l := range strings.Split(head, "\n") {
		l = strings.TrimRight(l, "\r")
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "HTTP/") {
			k = strings.ToLower(strings.TrimSpace(k))
			r.Headers[k] = append(r.Headers[k], strings.TrimSpace(v))
		}
	}
	return r, nil
}
