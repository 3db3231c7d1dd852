"""``python -m cli``: the ``trilink`` command without the installed console script."""

from cli.main import main

if __name__ == "__main__":
    main()
