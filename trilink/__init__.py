"""trilink core: domain model, configuration, codec, embedded broker and geodesy.

The role packages (``producers``, ``bridge``, ``consumers``, ``sim``, ``tracking``)
build on this one; nothing here depends on them.
"""

from trilink.errors import TrilinkError

__version__ = "0.1.0"
__all__ = ["TrilinkError", "__version__"]
