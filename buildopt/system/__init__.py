"""The system: processes (the only place that starts or signals one), forked workers, atomic
files, and the Go toolchain's answers."""
