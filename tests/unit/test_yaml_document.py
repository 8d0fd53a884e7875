"""The YAML the program writes: libyaml's emitter, the same text as PyYAML's own, values that
come back as they went in (passwords, URLs, receivers' settings are strings of any shape)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import yaml

import components.yaml_document as yaml_document
from components.yaml_document import yaml_text
from tools.offline.runner import evaluate

# Strings a YAML writer gets wrong if it quotes carelessly: indicators, YAML 1.1 booleans
# and numbers, comments, line breaks, long lines (folding at 80 columns), non-ASCII.
AWKWARD = [
    "",
    " leading and trailing ",
    "key: value",
    "# not a comment",
    "a #b",
    "- item",
    "? q",
    "yes", "No", "on", "OFF", "y", "~", "null", "Null",
    "0123", "0x1F", "1e3", "1_000", "12:30:45", "-.inf", ".nan", "2026-11-28",
    "{a: 1}", "[1, 2]", "*alias", "&anchor", "!tag", "%directive", "@at", "`tick`",
    "'single'", '"double"', "back\\slash", "tab\there",
    "line one\nline two\n", "trailing newlines\n\n\n", "\r\ncarriage",
    "x" * 200, " ".join(["word"] * 60),
    "pässwörd-ünïcode", "日本語", "emoji 🔐", "\u2028separator", "\x85next line", "\x07bell",
    "p@ss:w0rd#!{}[]&*?|>-%",
]  # fmt: skip


RENDERERS = [
    f"components.{name}"
    for name in (
        "prometheus.files",
        "prometheus.web_config",
        "alertmanager.files",
        "blackbox_exporter.files",
        "grafana.datasources",
        "jaeger.files",
        "loki.files",
    )
]


def _documents() -> list[Any]:
    nested = {"basic_auth": {"username": "admin", "password": "x: y"}, "list": AWKWARD}
    return [{"value": text} for text in AWKWARD] + [
        nested,
        [nested, nested],
        {"n": 1, "f": 1.5, "t": True, "none": None, "empty": {}},
    ]


def _pure_python(document: Any) -> str:
    return yaml.dump(document, Dumper=yaml.SafeDumper, sort_keys=False)


@pytest.mark.parametrize("document", _documents())
def test_awkward_values_come_back_as_written(document: Any) -> None:
    text = yaml_text(document)
    assert yaml.safe_load(text) == document
    assert text == _pure_python(document)


def test_keys_stay_in_the_order_the_code_wrote_them() -> None:
    text = yaml_text({"zeta": 1, "alpha": {"omega": 2, "beta": 3}})
    assert text == "zeta: 1\nalpha:\n  omega: 2\n  beta: 3\n"


def test_only_plain_data_is_written() -> None:
    # The safe dumper: no Python object tags that a reader would have to construct.
    with pytest.raises(yaml.representer.RepresenterError):
        yaml_text({"object": object()})


def test_libyaml_writes_when_pyyaml_has_it() -> None:
    # The reason for the module: PyYAML's wheels carry libyaml, so the C emitter is used.
    assert yaml.__with_libyaml__
    assert yaml_document.DUMPER is yaml.CSafeDumper


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rendered_file_is_what_pyyaml_itself_writes(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[tuple[Any, str]] = []

    def spy(document: object) -> str:
        text = yaml_text(document)
        written.append((document, text))
        return text

    # Each renderer imported the function by name: replace it where each module holds it.
    for name in RENDERERS:
        module = importlib.import_module(name)
        assert module.yaml_text is yaml_text, name
        monkeypatch.setattr(module, "yaml_text", spy)
    evaluate(stack)
    assert len(written) >= 13
    for document, text in written:
        assert text == _pure_python(document)
        assert yaml.safe_load(text) == document
