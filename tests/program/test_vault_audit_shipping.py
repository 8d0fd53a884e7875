"""vault.auditLogFolder as the program renders it: Alloy mounts the folder read-only and
ships its *.log to Loki as service "vault", stream "audit", with the reader's AppRole and
the path as structured metadata; nothing of it without the setting; a folder that is not
there is a warning at preview and a refusal at `pulumi up`, before anything is created.
OpenBao's own lines against the pipeline's expressions: tests/integration/test_vault_agent.py
(no Alloy runs here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.alloy import files as alloy
from components.registry import REGISTRY
from infra.vault_audit_folder import VaultAuditFolderMissing, check_audit_folder
from stacks import load_settings
from stacks.images import project_path
from tests.helpers import config_with, profile, stack_overrides
from tools.offline.mocks import unwrap
from tools.offline.rendered import containers
from tools.offline.runner import evaluate


def _bind_mounts(evaluation: Any) -> dict[str, dict[str, Any]]:
    inputs = unwrap(evaluation.named("alloy-server").inputs)
    return {m["target"]: m for m in inputs.get("mounts") or [] if m["type"] == "bind"}


def test_dev_ships_the_dev_vault_s_audit_log_from_its_own_folder() -> None:
    evaluation = evaluate("dev")
    mount = _bind_mounts(evaluation)[alloy.VAULT_AUDIT]
    assert mount["source"] == str(project_path(".state/vault/audit"))
    assert mount["readOnly"] is True
    config = containers(evaluation)["alloy"].file(alloy.CONFIG)
    block = config[config.index('local.file_match "vault_audit"') :]
    assert f'"__path__" = "{alloy.VAULT_AUDIT}/*.log"' in block
    for label, value in (("service", "vault"), ("stream", "audit"), ("stack", "dev")):
        assert f'"{label}"' in block and f'= "{value}"' in block
    process = config[config.index('loki.process "vault_audit"') :]
    assert 'role = "auth.metadata.role_name"' in process
    assert (
        "stage.structured_metadata" in process
        and "forward_to = [loki.write.loki.receiver]" in process
    )


def test_without_the_setting_alloy_mounts_and_ships_only_the_containers_logs() -> None:
    evaluation = evaluate("prod")  # prod's Vault is the operator's: its own host, its own log
    assert alloy.VAULT_AUDIT not in _bind_mounts(evaluation)
    assert "vault_audit" not in containers(evaluation)["alloy"].file(alloy.CONFIG)
    vault = {**profile("dev")["vault"], "auditLogFolder": None}
    assert "vault_audit" not in containers(evaluate("dev", config_with("dev", vault=vault)))[
        "alloy"
    ].file(alloy.CONFIG)


def test_a_folder_that_is_not_there_warns_at_preview_and_stops_an_up(tmp_path: Path) -> None:
    own = stack_overrides("dev")
    vault = {**profile("dev")["vault"], "auditLogFolder": str(tmp_path / "no-such")}
    missing = own | {"vault": vault}
    settings = load_settings("dev", missing, REGISTRY)
    warning = check_audit_folder(settings, tolerate_missing=True)
    assert warning is not None and "scripts/vault.sh start" in warning
    with pytest.raises(VaultAuditFolderMissing, match="nothing was created"):
        check_audit_folder(settings, tolerate_missing=False)
    # Another host's engine: its folders are not this machine's to look at.
    assert check_audit_folder(settings, False, "tcp://docker-host:2376") is None
    (tmp_path / "no-such").mkdir()
    assert check_audit_folder(settings, tolerate_missing=False) is None


def test_a_folder_holding_a_vault_s_own_files_is_refused_even_at_preview(tmp_path: Path) -> None:
    """Mounted into Alloy, a Vault home would show it the root token."""
    home = tmp_path / "vault"
    (home / "audit").mkdir(parents=True)
    (home / "root-token").write_text("s.not-a-real-token")
    own = stack_overrides("dev")
    for folder, refused in ((home, True), (home / "audit", False)):
        vault = {**profile("dev")["vault"], "auditLogFolder": str(folder)}
        settings = load_settings("dev", own | {"vault": vault}, REGISTRY)
        if refused:
            with pytest.raises(VaultAuditFolderMissing, match="holds root-token"):
                check_audit_folder(settings, tolerate_missing=True)
        else:
            assert check_audit_folder(settings, tolerate_missing=True) is None
