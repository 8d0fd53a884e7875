"""Errors the `vos-infra` commands report in one line (no traceback)."""


class RenderTargetError(ValueError):
    """--out names something `render` may not write into."""
