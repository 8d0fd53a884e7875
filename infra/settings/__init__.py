"""Typed, validated settings of a stack (see loader.load_settings)."""

from infra.settings.loader import load_settings
from infra.settings.models import Settings
from infra.settings.problems import Problem, SettingsError

__all__ = ["Problem", "Settings", "SettingsError", "load_settings"]
