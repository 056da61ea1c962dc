package shadowed

// GOMAXPROCS is this package's own function, not the runtime's.
func GOMAXPROCS(n int) int { return n }

func Use() int { return GOMAXPROCS(32) }
