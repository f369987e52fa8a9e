package check

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sidecar-lab/grader/grader/result"
)

func TestVerdictConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  Verdict
		want Verdict
	}{
		{name: "Pass formats", got: Pass("%d probes, %s", 5, "ok"),
			want: Verdict{Status: result.Passed, Message: "5 probes, ok"}},
		{name: "Pass without args", got: Pass("all good"),
			want: Verdict{Status: result.Passed, Message: "all good"}},
		{name: "Fail says expected, seen and hint", got: Fail("200", "500", "fix the route"),
			want: Verdict{Status: result.Failed, Message: "expected 200; saw 500", Hint: "fix the route"}},
		{name: "Fail without hint", got: Fail("a", "b", ""),
			want: Verdict{Status: result.Failed, Message: "expected a; saw b"}},
		{name: "Skip", got: Skip("no split streams"),
			want: Verdict{Status: result.Skipped, Message: "no split streams"}},
		{name: "Errorf formats", got: Errorf("cluster %s: %v", "down", fmt.Errorf("boom")),
			want: Verdict{Status: result.Error, Message: "cluster down: boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

func TestWith(t *testing.T) {
	base := Fail("x", "y", "z").With("a")
	require.Equal(t, []string{"a"}, base.Evidence)

	// Give base spare capacity, so that an aliasing append would write into the shared array.
	base.Evidence = append(make([]string, 0, 8), base.Evidence...)
	one := base.With("b")
	two := base.With("c", "d")
	assert.Equal(t, []string{"a"}, base.Evidence, "With leaves the original untouched")
	assert.Equal(t, []string{"a", "b"}, one.Evidence)
	assert.Equal(t, []string{"a", "c", "d"}, two.Evidence, "a second With does not overwrite the first's evidence")

	one.Evidence[0] = "changed"
	assert.Equal(t, "a", base.Evidence[0], "the result does not share the original's array")

	assert.Equal(t, base.Status, one.Status)
	assert.Equal(t, base.Message, one.Message)
	assert.Equal(t, base.Hint, one.Hint)

	assert.Empty(t, Pass("ok").With().Evidence)
}

var specs = []Spec{
	{ID: "ex.static-a", Title: "Static A", Kind: result.Static, Points: 1},
	{ID: "ex.runtime-a", Title: "Runtime A", Kind: result.Runtime, Points: 2},
	{ID: "ex.static-b", Title: "Static B", Kind: result.Static, Points: 3},
	{ID: "ex.runtime-b", Title: "Runtime B", Kind: result.Runtime, Points: 4},
}

func TestRecorderFirstVerdictWins(t *testing.T) {
	var calls []string
	r := NewRecorder(func(id string, v Verdict) { calls = append(calls, id+"="+string(v.Status)) })
	r.Set("a", Fail("x", "y", ""))
	r.Set("a", Pass("later"))
	r.Set("b", Skip("why"))

	v, ok := r.Get("a")
	require.True(t, ok)
	assert.Equal(t, result.Failed, v.Status)
	assert.Equal(t, "expected x; saw y", v.Message)
	assert.Equal(t, []string{"a=failed", "b=skipped"}, calls, "progress is called once per check, for the verdict kept")
}

func TestRecorderHasGet(t *testing.T) {
	r := NewRecorder(nil) // a nil progress func must not be called
	assert.False(t, r.Has("a"))
	_, ok := r.Get("a")
	assert.False(t, ok)

	r.Set("a", Pass("ok"))
	assert.True(t, r.Has("a"))
	assert.False(t, r.Has("b"))
	v, ok := r.Get("a")
	require.True(t, ok)
	assert.Equal(t, Pass("ok"), v)
}

func TestRecorderSetRest(t *testing.T) {
	tests := []struct {
		name   string
		before map[string]Verdict
		kind   result.Kind
		want   map[string]result.Status // absent: no verdict
	}{
		{
			name: "fills only the runtime checks without a verdict",
			before: map[string]Verdict{
				"ex.static-a":  Pass("ok"),
				"ex.runtime-a": Pass("ok"),
			},
			kind: result.Runtime,
			want: map[string]result.Status{"ex.static-a": result.Passed, "ex.runtime-a": result.Passed,
				"ex.runtime-b": result.Skipped},
		},
		{
			name: "fills only the static checks",
			before: map[string]Verdict{
				"ex.static-b": Fail("a", "b", ""),
			},
			kind: result.Static,
			want: map[string]result.Status{"ex.static-a": result.Skipped, "ex.static-b": result.Failed},
		},
		{
			name:   "nothing recorded yet",
			before: nil,
			kind:   result.Runtime,
			want:   map[string]result.Status{"ex.runtime-a": result.Skipped, "ex.runtime-b": result.Skipped},
		},
		{
			name: "everything recorded: no change",
			before: map[string]Verdict{
				"ex.static-a": Pass(""), "ex.runtime-a": Fail("a", "b", ""), "ex.static-b": Pass(""), "ex.runtime-b": Errorf("e"),
			},
			kind: result.Runtime,
			want: map[string]result.Status{"ex.static-a": result.Passed, "ex.runtime-a": result.Failed,
				"ex.static-b": result.Passed, "ex.runtime-b": result.Error},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(nil)
			for id, v := range tt.before {
				r.Set(id, v)
			}
			r.SetRest(specs, tt.kind, Skip("stopped early"))
			for _, s := range specs {
				v, ok := r.Get(s.ID)
				want, wantOK := tt.want[s.ID]
				assert.Equal(t, wantOK, ok, s.ID)
				if wantOK {
					assert.Equal(t, want, v.Status, s.ID)
				}
			}
		})
	}
}

func TestRecorderResults(t *testing.T) {
	r := NewRecorder(nil)
	// Recorded out of spec order, one check left without a verdict.
	r.Set("ex.runtime-b", Fail("a", "b", "h").With("ev1", "ev2"))
	r.Set("ex.static-a", Pass("  padded message \n"))
	r.Set("ex.static-b", Skip("disabled"))
	r.Set("not-a-spec", Pass("ignored"))

	t.Run("spec order, default points", func(t *testing.T) {
		got := r.Results(specs, nil)
		require.Len(t, got, len(specs))
		for i, s := range specs {
			assert.Equal(t, s.ID, got[i].ID)
			assert.Equal(t, s.Title, got[i].Title)
			assert.Equal(t, s.Kind, got[i].Kind)
			assert.Equal(t, s.Points, got[i].MaxPoints)
			assert.Equal(t, 0, got[i].Points, "Results leaves scoring to Tally")
			assert.NotNil(t, got[i].Evidence, "evidence is never nil (results.json writes an array)")
		}
		assert.Equal(t, result.Passed, got[0].Status)
		assert.Equal(t, "padded message", got[0].Message, "message trimmed")

		assert.Equal(t, result.Error, got[1].Status, "a check without a verdict is the grader's error")
		assert.Contains(t, got[1].Message, "did not evaluate")

		assert.Equal(t, result.Skipped, got[2].Status)
		assert.Equal(t, result.Failed, got[3].Status)
		assert.Equal(t, "h", got[3].Hint)
		assert.Equal(t, []string{"ev1", "ev2"}, got[3].Evidence)
	})

	t.Run("points override", func(t *testing.T) {
		got := r.Results(specs, func(s Spec) int {
			if s.ID == "ex.static-b" {
				return 10
			}
			return s.Points * 2
		})
		require.Len(t, got, len(specs))
		assert.Equal(t, []int{2, 4, 10, 8}, []int{got[0].MaxPoints, got[1].MaxPoints, got[2].MaxPoints, got[3].MaxPoints})
	})

	t.Run("no specs", func(t *testing.T) {
		got := r.Results(nil, nil)
		assert.NotNil(t, got)
		assert.Empty(t, got)
	})
}

func TestRecorderConcurrent(t *testing.T) {
	var mu sync.Mutex
	progress := map[string]int{}
	r := NewRecorder(func(id string, _ Verdict) { mu.Lock(); progress[id]++; mu.Unlock() })
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Set(fmt.Sprintf("c%d", i%5), Pass("%d", i))
			_ = r.Has("c0")
		}()
	}
	wg.Wait()
	for i := 0; i < 5; i++ {
		assert.Equal(t, 1, progress[fmt.Sprintf("c%d", i)], "one progress call per check")
	}
}

func TestRecorderRevise(t *testing.T) {
	var heard []string
	r := NewRecorder(func(id string, v Verdict) { heard = append(heard, id+"="+string(v.Status)) })
	specs := []Spec{{ID: "a", Kind: result.Runtime}, {ID: "b", Kind: result.Runtime}, {ID: "c", Kind: result.Static}, {ID: "d", Kind: result.Runtime}}
	r.Set("a", Pass("ok"))
	r.Set("b", Fail("x", "y", "z"))
	r.Set("c", Fail("x", "y", "z"))
	r.Revise(specs, result.Runtime, func(v Verdict) (Verdict, bool) {
		if v.Status != result.Failed {
			return v, false
		}
		return Errorf("cluster: %s", v.Message), true
	})
	a, _ := r.Get("a")
	b, _ := r.Get("b")
	c, _ := r.Get("c")
	assert.Equal(t, result.Passed, a.Status, "a passed verdict is kept")
	assert.Equal(t, result.Error, b.Status)
	assert.Equal(t, "cluster: expected x; saw y", b.Message)
	assert.Equal(t, result.Failed, c.Status, "only the given kind is revised")
	assert.False(t, r.Has("d"), "a check with no verdict gets none")
	assert.Equal(t, []string{"a=passed", "b=failed", "c=failed", "b=error"}, heard)
}
