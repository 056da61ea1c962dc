//go:build notypes

package shapes

// All is empty without the types: built so, the binary tells what they weigh.
func All() []any { return nil }
