package submission

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckAliases(t *testing.T) {
	const max = 4 << 20
	t.Run("no alias", func(t *testing.T) {
		assert.NoError(t, checkAliases([]byte("a: 1\nb: [x, y]\n"), max))
	})
	t.Run("a '*' that is no alias", func(t *testing.T) {
		assert.NoError(t, checkAliases([]byte("glob: \"*.log\"\ncmd: ls *\n"), max))
	})
	t.Run("a lab-sized use of anchors", func(t *testing.T) {
		doc := "resources: &r {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}\n" +
			"a: *r\nb: *r\nc: *r\n"
		assert.NoError(t, checkAliases([]byte(doc), max))
	})
	t.Run("billion laughs", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
		for i := 1; i <= 9; i++ {
			b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" +
				strings.TrimSuffix(strings.Repeat("*l"+string(rune('0'+i-1))+", ", 10), ", ") + "]\n")
		}
		err := checkAliases([]byte(b.String()), max)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "an alias bomb")
	})
	t.Run("a big string aliased many times", func(t *testing.T) {
		doc := "s: &s \"" + strings.Repeat("x", 100_000) + "\"\nl: [" + strings.TrimSuffix(strings.Repeat("*s,", 100), ",") + "]\n"
		assert.Error(t, checkAliases([]byte(doc), max), "10 MB expanded")
		assert.NoError(t, checkAliases([]byte(doc), 20<<20), "within a larger bound")
	})
	t.Run("an alias inside its own anchor", func(t *testing.T) {
		err := checkAliases([]byte("a: &a [1, *a]\n"), max)
		if err != nil { // go-yaml may refuse it itself; if it parses, the cycle is refused here
			assert.ErrorIs(t, err, errAliasCycle)
		}
	})
	t.Run("Parse refuses the document, naming it", func(t *testing.T) {
		doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n" +
			"data: {a: &s \"" + strings.Repeat("x", 500_000) + "\"}\nl: [" + strings.TrimSuffix(strings.Repeat("*s,", 20), ",") + "]\n"
		_, err := Parse([]byte(doc), DefaultLimits)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "document 2 is refused")
	})
}
