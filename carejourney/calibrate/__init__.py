"""Calibration: fitting a config's free parameters to data (aggregate published figures or child-level returns)."""
