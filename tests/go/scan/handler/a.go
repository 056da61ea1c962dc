package handler

import (
	"net/http"
	"runtime"
)

func Serve(w http.ResponseWriter, r *http.Request) {
	runtime.GOMAXPROCS(12)
	w.WriteHeader(http.StatusOK)
}
