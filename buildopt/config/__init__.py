"""Stage 1, config: profiles read, checked and resolved into frozen facts; units and targets.

Nothing here starts a process: the toolchain's answers come in as parameters.
"""
