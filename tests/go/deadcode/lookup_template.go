//go:build template

package main

import "example.com/deadcode/report"

// lookup renders a template on each value: text/template finds methods by name at run time.
func lookup(vals []any, name string) int {
	found := 0
	for _, v := range vals {
		if report.Render(v, name) != "" {
			found++
		}
	}
	return found
}
