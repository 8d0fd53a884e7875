"""The sidecar renderer refuses what would leak or clash, before anything is rendered."""

from __future__ import annotations

import json

import pytest

from components.vault_agent.files import SecretFile, agent_config

ONE = SecretFile("secret", "vos/dev/api-gateway/jwt-secret", "value", "jwt-secret")


def test_a_plaintext_vault_address_is_refused() -> None:
    with pytest.raises(ValueError, match="TLS only"):
        agent_config("http://vault:8200", [ONE])
    assert json.loads(agent_config("https://vault:8200", [ONE]))["vault"]["address"] == (
        "https://vault:8200"
    )


@pytest.mark.parametrize("name", ["../etc/passwd", ".hidden", "a/b"])
def test_file_names_cannot_leave_the_secrets_folder(name: str) -> None:
    with pytest.raises(ValueError, match="plain names"):
        agent_config("https://vault:8200", [SecretFile("secret", "p", "value", name)])


def test_two_secrets_cannot_share_a_file() -> None:
    with pytest.raises(ValueError, match="unique"):
        agent_config("https://vault:8200", [ONE, ONE])


@pytest.mark.parametrize(
    ("path", "field"),
    [('x" }}{{ secret "secret/data/vos/dev/pki/ca', "value"), ("p", "value }}{{ .Data"), ("", "v")],
)
def test_a_template_cannot_be_smuggled_through_a_path_or_field(path: str, field: str) -> None:
    with pytest.raises(ValueError, match="plain KV path"):
        agent_config("https://vault:8200", [SecretFile("secret", path, field, "f")])
