package initrisk

import (
	"net/http"
	"os"
	"time"
)

var config, _ = os.ReadFile("/etc/app.conf")

var table = build()

func build() map[int][]byte {
	m := map[int][]byte{}
	for i := 0; i < 1000; i++ {
		m[i] = make([]byte, 64)
	}
	return m
}

func init() {
	go func() { _, _ = http.Get("http://127.0.0.1:1/") }()
	time.Sleep(time.Millisecond)
}
