// Package lazy does nothing at start-up: every risky call is in a function that runs later.
package lazy

import (
	"net/http"
	"os"
	"sync"
	"time"
)

var config = sync.OnceValue(func() []byte {
	b, _ := os.ReadFile("/etc/app.conf")
	return b
})

var pair = sync.OnceValues(func() ([]byte, error) { return os.ReadFile("/etc/app.conf") })

var warm = sync.OnceFunc(func() { time.Sleep(time.Second) })

var fetch = func() {
	mu.Lock()
	defer mu.Unlock()
	_, _ = http.Get("http://127.0.0.1:1/")
}

var handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = os.ReadFile("/etc/app.conf")
})

var (
	mu    sync.Mutex
	once  sync.Once
	data  []byte
	names []string
)

// register is a registry under a mutex: uncontended while packages initialise.
func register(name string) {
	mu.Lock()
	defer mu.Unlock()
	names = append(names, name)
}

func load() { data, _ = os.ReadFile("/etc/app.conf") }

// Data is a sync.Once wrapper: it loads on first use.
func Data() []byte {
	once.Do(load)
	return data
}

func init() {
	register("x")
	http.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		_, _ = os.ReadFile("/etc/x")
	})
}
