"""The system: processes (the only place that starts or signals one), atomic files, and the Go
toolchain's answers."""
