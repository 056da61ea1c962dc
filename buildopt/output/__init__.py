"""Output for people and machines: console tables and progress (rich), JSON, Markdown, JUnit,
SARIF and GitHub annotations. Results go to stdout, progress and warnings to stderr."""
