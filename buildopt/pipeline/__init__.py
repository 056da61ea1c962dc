"""Stage 2, pipeline: the run as an ordered list of steps (``steps.py``: plan, build, compress,
scan, record, image, startup); the plan (exact go build argv and env per variant x target), the
builds that run it, and the verification of every binary against what its variant asked for."""
