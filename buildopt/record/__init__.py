"""Stage 3, record: the build record model (``dist/<profile>/build.json``) and the only code
that reads or writes it."""
