// Package eager does its work at start-up, through function literals and sync.Once: found.
package eager

import (
	"os"
	"sync"
	"time"
)

var now = func() []byte {
	b, _ := os.ReadFile("/etc/app.conf")
	return b
}()

var (
	once sync.Once
	data []byte
	wg   sync.WaitGroup
)

func load() { data, _ = os.ReadFile("/etc/app.conf") }

func init() {
	once.Do(load)
	func() { time.Sleep(time.Millisecond) }()
	wg.Wait()
}
