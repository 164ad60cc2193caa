"""Validation against published figures: read them, map them to model measures, compare.

    from carejourney.validate import read_figures, compare, format_comparison
    table = compare(cfg, read_figures("published_figures.csv"), reps=20, seed=1)
    print(format_comparison(table))

The mapping from published quantities to model measures is one table,
`carejourney.validate.mapping.MAPPING`.
"""

from .compare import (
           compare,
           compare_annual,
           coverage,
           format_comparison,
           simulated_figures,
)
from .figures import FiguresError, read_figures
from .mapping import MAPPING, MappedQuantity

__all__ = ["compare", "compare_annual", "coverage", "format_comparison", "simulated_figures", "read_figures",
           "FiguresError", "MAPPING", "MappedQuantity"]
