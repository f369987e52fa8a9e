package submission

// YAML aliases are expanded when a document is turned into JSON: a small file whose aliases refer, many times over,
// to a large value (or to values that themselves alias others: "billion laughs") expands to gigabytes. The parser's
// own guard (go-yaml's "excessive aliasing") lets through documents with fewer than 400,000 nodes, which is enough
// for one 500 kB string aliased 100,000 times to exhaust the grader's memory. So before a document is decoded, its
// expanded size is computed on the parse tree (aliases stay pointers there) and bounded.

import (
	"errors"
	"fmt"

	yaml3 "go.yaml.in/yaml/v3"
)

// errAliasCycle is an alias inside the value of its own anchor.
var errAliasCycle = errors.New("an alias refers to the value that holds it")

// checkAliases returns an error when the YAML document raw, with its aliases expanded, would be larger than max
// bytes (counting each scalar's text and a few bytes per node). A document without aliases costs one parse.
func checkAliases(raw []byte, max int64) error {
	if !hasAlias(raw) {
		return nil
	}
	var doc yaml3.Node
	if err := yaml3.Unmarshal(raw, &doc); err != nil {
		return nil // not YAML: the decoder that follows says why
	}
	sizes := map[*yaml3.Node]int64{}
	n, err := expandedSize(&doc, sizes, max)
	if err != nil {
		return err
	}
	if n > max {
		return fmt.Errorf("its YAML aliases (*name) expand it to more than %d bytes, far more than a lab manifest (an alias bomb); "+
			"write the values out instead of aliasing them", max)
	}
	return nil
}

// hasAlias reports whether raw may hold an alias (a '*' anywhere; a cheap test that spares most documents a parse).
func hasAlias(raw []byte) bool {
	for _, b := range raw {
		if b == '*' {
			return true
		}
	}
	return false
}

// inProgress marks a node whose size is being computed (an alias reaching it is a cycle).
const inProgress = -1

// expandedSize is the size of n with its aliases expanded, memoised per node; it stops counting past max.
func expandedSize(n *yaml3.Node, sizes map[*yaml3.Node]int64, max int64) (int64, error) {
	if n == nil {
		return 0, nil
	}
	if s, ok := sizes[n]; ok {
		if s == inProgress {
			return 0, errAliasCycle
		}
		return s, nil
	}
	sizes[n] = inProgress
	var total int64
	switch n.Kind {
	case yaml3.AliasNode:
		s, err := expandedSize(n.Alias, sizes, max)
		if err != nil {
			return 0, err
		}
		total = s
	case yaml3.ScalarNode:
		total = int64(len(n.Value)) + 4
	default: // document, sequence, mapping
		total = 2
		for _, c := range n.Content {
			s, err := expandedSize(c, sizes, max)
			if err != nil {
				return 0, err
			}
			total += s + 2
			if total > max {
				break // no need to count further
			}
		}
	}
	sizes[n] = total
	return total, nil
}
