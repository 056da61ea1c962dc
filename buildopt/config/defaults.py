"""What ``buildopt startup`` does when neither ``[startup]`` nor an option says otherwise,
defined once: the model (buildopt.config.startup) and the option spec's help, which imports
nothing heavy, both read it."""

RUNS = 30  # timed runs
WARMUP = 3  # unmeasured runs first
TRACE_RUNS = 3  # runs with GODEBUG tracing, for GC cycles and init costs only
TIMEOUT = 10.0  # seconds a run may take
GRACE = 2.0  # seconds between SIGTERM and SIGKILL
