"""carejourney: a discrete-event simulation of children's journeys through care in England."""

__version__ = "0.1.0"

from .api import load_config, simulate  # noqa: E402

__all__ = ["__version__", "load_config", "simulate"]
