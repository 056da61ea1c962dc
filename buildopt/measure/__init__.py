"""Stage 6, measure: cold start of built binaries and the start-up scan of Go sources,
with the small Go helper programs they run."""
