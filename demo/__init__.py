"""The demo: a whole pipeline in one process, its live watch and its summary."""
