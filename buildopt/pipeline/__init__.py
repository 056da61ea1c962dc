"""Stage 2, pipeline: the plan (exact go build argv and env per variant x target), the builds
that run it, and the verification of every binary against what its variant asked for."""
