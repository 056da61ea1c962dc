//go:build enterprise

package main

import (
	"compress/gzip"
	"crypto/x509"
	"encoding/xml"
	"net/http"
	"text/template"
)

var exportTemplate = template.Must(template.New("export").Parse(
	"<!-- billing export for {{.Operator}} -->\n"))

// registerExtra adds the enterprise export: gzip'd XML of a plan, and a certificate-pool check.
// It pulls in encoding/xml, text/template, compress/gzip and crypto/x509.
func registerExtra(mux *http.ServeMux) {
	mux.HandleFunc("GET /export", func(w http.ResponseWriter, r *http.Request) {
		plan := r.URL.Query().Get("plan")
		t, ok := tariffs()[tariffKey(plan, 0)]
		if !ok {
			http.Error(w, "no such plan", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		_ = exportTemplate.Execute(zw, map[string]string{"Operator": plan})
		_ = xml.NewEncoder(zw).Encode(t)
	})
	mux.HandleFunc("GET /trust", func(w http.ResponseWriter, _ *http.Request) {
		if _, err := x509.SystemCertPool(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
