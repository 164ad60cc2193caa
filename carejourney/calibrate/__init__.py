"""Calibration: fitting a config's free parameters to data (aggregate published figures or child-level returns)."""

from .estimate import estimate_config, load_template, write_calibrated_config  # noqa: F401  (SSDA903 -> config)
from .estimate_fit import (  # noqa: F401
    fit_exponential,
    fit_lognormal,
    fit_weibull,
    kaplan_meier,
    poisson_regression,
)
from .estimate_report import EstimationReport  # noqa: F401
