"""Typed, validated settings of a stack (see loader.load_settings)."""

from stacks.loader import load_settings
from stacks.models import Settings
from stacks.problems import Problem, SettingsError

__all__ = ["Problem", "Settings", "SettingsError", "load_settings"]
