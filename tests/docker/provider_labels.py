"""Labels as the Docker provider converts them (kreuzwerker/terraform-provider-docker
internal/provider/helpers.go mapToLabelSet, labelSetToMap: the schema's `labels` blocks of
label and value, the engine's map), for both emulations: the single host's (provider.py)
and the Swarm's (provider_swarm*.py)."""

from __future__ import annotations


def label_set(labels: dict[str, str] | None) -> list[dict[str, str]]:
    """mapToLabelSet: the engine's label map as the schema's label blocks."""
    return [{"label": k, "value": v} for k, v in sorted((labels or {}).items())]


def label_map(blocks: list[dict[str, str]] | None) -> dict[str, str]:
    """labelSetToMap: the schema's label blocks as the engine's label map."""
    return {b["label"]: b["value"] for b in blocks or []}
