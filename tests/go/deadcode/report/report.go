// Package report renders a value with text/template: the package to change when the linker
// keeps every exported method because of it.
package report

import (
	"strings"
	"text/template"
)

// Render calls method name of v through a template ("" when it cannot).
func Render(v any, name string) string {
	t, err := template.New("r").Parse("{{." + name + " 1}}")
	if err != nil {
		return ""
	}
	var b strings.Builder
	if t.Execute(&b, v) != nil {
		return ""
	}
	return b.String()
}
