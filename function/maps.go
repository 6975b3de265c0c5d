package function

import (
	"cmp"
	"slices"
)

// sortedKeys returns the keys of m in order: everything the function emits
// must be deterministic, and Go map order is not.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
