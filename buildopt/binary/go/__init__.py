"""Go metadata in an ELF file: build info, the pclntab function table, package names."""
