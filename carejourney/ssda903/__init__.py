"""Reading, validating, cleaning and exporting SSDA903 (children looked after) returns.

    data = read_ssda903("returns/")        # validated, pseudonymised; Ssda903Error if malformed
    cleaned = clean(data)                  # episodes, periods, placements, children, report
    print(cleaned.summary())
    export_903(sim_tables, "out/")         # simulated journeys as SSDA903 files per year

The code-to-vocabulary mapping is `MAPPING` (a DataFrame) and MAPPING.md beside this file.
"""

from .clean import Cleaned, clean
from .codes import MAPPING, VALID_CODES, mapping_table, valid_codes
from .errors import Problem, Ssda903Error
from .export import export_903
from .privacy import pseudonymise, round_to, suppress
from .read import Ssda903Data, read_ssda903

__all__ = [
    "MAPPING",
    "VALID_CODES",
    "Cleaned",
    "Problem",
    "Ssda903Data",
    "Ssda903Error",
    "clean",
    "export_903",
    "mapping_table",
    "pseudonymise",
    "read_ssda903",
    "round_to",
    "suppress",
    "valid_codes",
]
