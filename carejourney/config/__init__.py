"""Validated configuration: the schema and the YAML loader."""

from .loader import ConfigError, load_config, parse_config, read_yaml
from .schema import Config

__all__ = ["Config", "ConfigError", "load_config", "parse_config", "read_yaml"]
