package rubric

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefault(t *testing.T) {
	r := Default()
	assert.Equal(t, "default (RUBRIC.md)", r.Name)
	assert.NotNil(t, r.Checks)
	assert.Zero(t, r.PassScore)
	d := r.Deadlines
	// RUBRIC.md: pod ready 90 s (120 s with a PVC); a probe's log line 10 s; adv.graceful-stop 10 s.
	assert.Equal(t, 90*time.Second, d.Ready.Duration)
	assert.Equal(t, 120*time.Second, d.ReadyWithPVC.Duration)
	assert.Equal(t, 10*time.Second, d.ProbeLine.Duration)
	assert.Equal(t, 20*time.Second, d.GracefulStop.Duration, "10 s of margin below the 30 s grace a SIGTERM-ignoring pod costs")
	for name, v := range map[string]Duration{"forwarder": d.Forwarder, "aggregator": d.Aggregator, "first_error": d.FirstError} {
		assert.Positive(t, v.Duration, name)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join("testdata", "full.yaml")
	r, err := Load(path)
	require.NoError(t, err)
	def := DefaultDeadlines()

	assert.Equal(t, "Spring 2025", r.Name, "a name in the file wins over the path")
	assert.Equal(t, 40, r.PassScore)

	d := r.Deadlines
	tests := []struct {
		name string
		got  Duration
		want time.Duration
	}{
		{"ready as a duration string", d.Ready, 30 * time.Second},
		{"ready_pvc in minutes", d.ReadyWithPVC, 2 * time.Minute},
		{"probe_line as a number of seconds", d.ProbeLine, 15 * time.Second},
		{"forwarder as a fractional number", d.Forwarder, 7500 * time.Millisecond},
		{"graceful_stop quoted", d.GracefulStop, 500 * time.Millisecond},
		{"aggregator unset keeps its default", d.Aggregator, def.Aggregator.Duration},
		{"first_error unset keeps its default", d.FirstError, def.FirstError.Duration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got.Duration)
		})
	}
}

func TestLoadEmptyKeepsDefaults(t *testing.T) {
	path := filepath.Join("testdata", "empty.yaml")
	r, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, path, r.Name, "without a name the rubric is named by its path")
	assert.Equal(t, DefaultDeadlines(), r.Deadlines)
	assert.NotNil(t, r.Checks)
	assert.Empty(t, r.Checks)
	assert.Zero(t, r.PassScore)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file    string
		errLike string
	}{
		{"unknown-key.yaml", "deadline"},
		{"unknown-override-key.yaml", "point"},
		{"bad-duration.yaml", "thirty"},
		{"bad-duration-type.yaml", ""},
		{"not-yaml.yaml", ""},
		{"does-not-exist.yaml", "read rubric"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			r, err := Load(path)
			require.Error(t, err)
			assert.Nil(t, r)
			assert.Contains(t, err.Error(), tt.errLike)
			if tt.file != "does-not-exist.yaml" {
				assert.Contains(t, err.Error(), path, "the error names the rubric file")
			}
		})
	}
}

func TestPointsDisabled(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "full.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id       string
		def      int
		points   int
		disabled bool
	}{
		{id: "ex1.verbatim", def: 1, points: 3},
		{id: "adv.probes", def: 5, points: 0}, // an explicit 0 overrides
		{id: "ex2.alert-stream", def: 1, points: 1, disabled: true},
		{id: "ex1.ready", def: 2, points: 2}, // not mentioned
		{id: "", def: 7, points: 7},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.points, r.Points(tt.id, tt.def))
			assert.Equal(t, tt.disabled, r.Disabled(tt.id))
		})
	}

	d := Default()
	assert.Equal(t, 4, d.Points("ex1.verbatim", 4))
	assert.False(t, d.Disabled("ex1.verbatim"))
}

func TestUnknown(t *testing.T) {
	r, err := Load(filepath.Join("testdata", "typo.yaml"))
	require.NoError(t, err)
	known := map[string]bool{"ex1.ready": true, "ex1.verbatim": true, "adv.limits": true}
	for i := 0; i < 5; i++ { // sorted, so that the report does not change from run to run
		assert.Equal(t, []string{"adv.limit", "ex1.verbatm"}, r.Unknown(known))
	}

	r.Checks = map[string]Override{"ex1.ready": {}}
	assert.Empty(t, r.Unknown(known))
	assert.Empty(t, Default().Unknown(known))
	assert.Equal(t, []string{"ex1.ready"}, r.Unknown(nil))
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: `"90s"`, want: 90 * time.Second},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `90`, want: 90 * time.Second},
		{in: `0.25`, want: 250 * time.Millisecond},
		{in: `"ninety"`, wantErr: true},
		{in: `""`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `[1]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Duration)
		})
	}

	b, err := json.Marshal(Duration{90 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, `"1m30s"`, string(b))
	var back Duration
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, 90*time.Second, back.Duration)
}
