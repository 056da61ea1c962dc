//go:build !legacy

package tagged

// Clean is the file built without the legacy tag.
func Clean() {}
