"""The ``trilink`` command line: thin wrappers that parse, configure, call and print."""
