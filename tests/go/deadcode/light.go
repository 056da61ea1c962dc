//go:build !heavy

package main

// heavyValues is empty without the heavy tag (heavy.go: types whose methods reach
// encoding/json, net/url and time).
func heavyValues() []any { return nil }
