"""Stage 4, binary: facts read from one ELF file - ``elf/`` the ELF structure (pyelftools),
``go/`` the Go metadata (build info, pclntab, package names). Knows nothing of profiles,
builds or records."""
