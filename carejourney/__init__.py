"""carejourney: a discrete-event simulation of children's journeys through care in England."""

__version__ = "0.1.0"

__all__ = ["__version__", "load_config", "simulate"]


def __getattr__(name: str):
    """`load_config` and `simulate` are imported when first used, so that importing the
    package (as the `carejourney` command does first) stays light (see launch.py)."""
    if name in ("load_config", "simulate"):
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'carejourney' has no attribute {name!r}")
