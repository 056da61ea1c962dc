"""The command line: the ``buildopt`` entry point, its option spec, the invoke Program and
tasks, and the commands that run the stages in order."""
