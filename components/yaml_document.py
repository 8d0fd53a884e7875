"""Configuration files written as YAML, through libyaml's emitter when PyYAML has it.

Every YAML file the program renders (Prometheus, Alertmanager, Loki, Jaeger, Grafana's
provisioning, blackbox, the healthchecks' client files) goes through `yaml_text`, keys in
the order the code writes them (the files read as their upstream documentation lays them
out). PyYAML's pure-Python emitter took ~14 ms of every evaluation for dev's 13 documents,
libyaml's ~2.6 ms; both are the safe dumper (plain data only) and write the same text
(tests/unit/test_yaml_document.py). A PyYAML built without libyaml falls back to the
pure-Python one.
"""

from __future__ import annotations

import yaml

try:  # PyYAML's documented idiom: CSafeDumper exists only when built with libyaml
    from yaml import CSafeDumper as DUMPER
except ImportError:  # pragma: no cover (PyYAML's wheels have libyaml)
    from yaml import SafeDumper as DUMPER  # type: ignore[assignment]


def yaml_text(document: object) -> str:
    """`document` (plain dicts, lists, strings, numbers, booleans, None) as YAML text."""
    return yaml.dump(document, Dumper=DUMPER, sort_keys=False)
