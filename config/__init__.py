"""Validated settings for every walmart-sync process."""

from config.loading import ConfigError, load_settings, parse_overrides
from config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "parse_overrides"]
