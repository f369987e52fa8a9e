package cluster

import (
	"fmt"
	"io"
	"strings"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger shows kind's user-facing progress (V(0)) as "[cluster]" lines; debug levels are dropped.
type kindLogger struct{ w io.Writer }

func (l kindLogger) Warn(m string)                        { l.line("warning: " + m) }
func (l kindLogger) Warnf(f string, a ...any)             { l.Warn(fmt.Sprintf(f, a...)) }
func (l kindLogger) Error(m string)                       { l.line("error: " + m) }
func (l kindLogger) Errorf(f string, a ...any)            { l.Error(fmt.Sprintf(f, a...)) }
func (l kindLogger) V(v kindlog.Level) kindlog.InfoLogger { return kindInfo{l: l, on: v <= 0} }

func (l kindLogger) line(m string) {
	m = strings.TrimSpace(m)
	if m != "" {
		fmt.Fprintf(l.w, "[cluster] kind: %s\n", m)
	}
}

type kindInfo struct {
	l  kindLogger
	on bool
}

func (i kindInfo) Info(m string) {
	if i.on {
		i.l.line(m)
	}
}
func (i kindInfo) Infof(f string, a ...any) { i.Info(fmt.Sprintf(f, a...)) }
func (i kindInfo) Enabled() bool            { return i.on }
