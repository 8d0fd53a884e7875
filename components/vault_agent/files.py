"""The sidecar's agent.json, pure: log in with the service's AppRole, render each of its
secrets into a file on a tmpfs shared with the app, and re-render when Vault has a new
version (rotation) within the render interval.

Decisions (documented in docs/ARCHITECTURE.md):
- The role id and secret id arrive as files (read-only, the sidecar's uid, 0400); the secret
  id file is kept (`remove_secret_id_file_after_reading = false`) so a restarted sidecar can
  log in again; rotation.approle replaces it with the container.
- Failing closed: a template whose secret cannot be read (another service's, deleted, or a
  revoked secret id) stops the agent after its retries instead of leaving stale or empty
  files behind silently; Docker's restart policy retries, and the health shows it. The
  retries are also what an outage of Vault is ridden out with (RETRIES).
- Files are 0400 and written atomically by the agent; the app reads `*_FILE` paths.
The agent parses JSON as HCL (its config loader accepts both), so the file is plain JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from components.docker.spec import CONFIG_DIR, TLS_DIR

CONF = f"{CONFIG_DIR}/agent.json"
ROLE_ID = f"{CONFIG_DIR}/approle/role-id"
SECRET_ID = f"{CONFIG_DIR}/approle/secret-id"
SECRETS_DIR = "/run/vos/secrets"
"""The tmpfs shared with the app container."""
VAULT_CA = f"{TLS_DIR}/vault-ca.crt"
"""The CA that signed Vault's certificate (vault.caCertFile), not the platform's."""
TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the container)
PID = f"{TMP}/bao-agent.pid"
SIDECAR_SUFFIX = "-vault-agent"
"""The end of every sidecar's service name (`<app>-vault-agent`)."""
RENDER_INTERVAL_S = 30
"""How often KV v2 secrets (which carry no lease) are read again: a rotation reaches the
files within this time."""
RETRIES = 12
"""Vault's own default: a failed read is retried with a backoff from 250 ms doubling up to
1 min (consul-template's retry), about 5 minutes in all before the agent gives up and exits.
An outage of Vault shorter than that changes nothing: the files stay, the app serves, no
container restarts (the fault drill, tests/docker/test_fault_drills.py). With 5 retries (8 s)
every sidecar exited in a 75 s outage and was restarted (measured by the drill)."""
LONGEST_RETRY_WAIT_S = 65
"""The longest a sidecar goes without reading Vault while it is away: the retry backoff's cap
(1 min) plus the Vault client's own retries inside one read (about 4 s, measured with bao
agent 2.7 against a stopped server, connections refused; a network that drops packets adds
the client's timeout). So once Vault is back, every sidecar reads it again within this
time, and a rotation made meanwhile reaches the files then at the latest."""
# Paths and fields go inside a template's quoted string and field access: nothing that
# could close either.
_PATH = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SecretFile:
    """One field of one KV v2 secret, rendered to SECRETS_DIR/<file_name>."""

    mount: str
    path: str
    """Path under the mount (without `data/`), e.g. vos/dev/api-gateway/jwt-secret."""
    field: str
    file_name: str


def _template(secret: SecretFile) -> dict[str, object]:
    # The KV v2 read endpoint is <mount>/data/<path>; fields are under .Data.data.
    contents = (
        f'{{{{ with secret "{secret.mount}/data/{secret.path}" }}}}'
        f"{{{{ .Data.data.{secret.field} }}}}{{{{ end }}}}"
    )
    return {
        "contents": contents,
        "destination": f"{SECRETS_DIR}/{secret.file_name}",
        "perms": "0400",
        "error_on_missing_key": True,
        "create_dest_dirs": False,
    }


def agent_config(
    address: str,
    secrets: list[SecretFile],
    render_interval_s: int = RENDER_INTERVAL_S,
) -> str:
    """`address` is how the sidecar reaches Vault (https://...)."""
    if not address.startswith("https://"):
        raise ValueError(f"the agent reaches Vault over TLS only, not {address!r}")
    for s in secrets:
        if not (_PATH.fullmatch(f"{s.mount}/{s.path}") and _FIELD.fullmatch(s.field)):
            raise ValueError(f"not a plain KV path and field: {s.mount}/{s.path} {s.field}")
    names = [s.file_name for s in secrets]
    if len(set(names)) != len(names) or any("/" in n or n.startswith(".") for n in names):
        raise ValueError(f"secret file names must be unique plain names: {names}")
    config = {
        "pid_file": PID,
        "vault": {
            "address": address,
            "ca_cert": VAULT_CA,
            "retry": {"num_retries": RETRIES},
        },
        "auto_auth": {
            "method": [
                {
                    "type": "approle",
                    "config": {
                        "role_id_file_path": ROLE_ID,
                        "secret_id_file_path": SECRET_ID,
                        "remove_secret_id_file_after_reading": False,
                    },
                }
            ]
        },
        "template_config": {
            "static_secret_render_interval": f"{render_interval_s}s",
            "exit_on_retry_failure": True,
        },
        "template": [_template(s) for s in secrets],
    }
    return json.dumps(config, indent=2) + "\n"
