//go:build !enterprise

package main

import "net/http"

func registerExtra(*http.ServeMux) {}
