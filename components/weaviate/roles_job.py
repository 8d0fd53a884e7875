"""The one-shot job that applies the RBAC plan (roles.py) to Weaviate, as a ContainerSpec.

It runs in a VOS app image, whose contract guarantees python3 (docs/APP-CONTRACT.md), so
the admin key travels over TLS verified against the platform CA and Weaviate's name,
with no tool the official Weaviate image may lack. Idempotent: an existing role gets its
permissions added again (Weaviate answers 409 to a second create), assignments are
repeated. It needs no delete: a removed app's key leaves Weaviate's key list, so its role
has no one left to authenticate as it.
"""

from __future__ import annotations

from typing import Any

from components.app.contract import APP_UID
from components.docker.spec import (
    CONFIG_DIR,
    TLS_DIR,
    BuildSource,
    ContainerSpec,
    Upload,
    tmpfs_options,
)
from components.weaviate.definition import DEFINITION

PLAN = f"{CONFIG_DIR}/rbac.json"
SCRIPT = f"{CONFIG_DIR}/rbac.py"
ADMIN_KEY = f"{CONFIG_DIR}/secrets/admin-api-key"
CA = f"{TLS_DIR}/ca.crt"
BASE_URL = f"https://{DEFINITION.dns_name}:{DEFINITION.tls_port}/v1"


def script() -> str:
    return f'''"""Rendered by vos-infra: apply the RBAC plan to Weaviate (components/weaviate)."""
import json
import ssl
import sys
import urllib.error
import urllib.request

CONTEXT = ssl.create_default_context(cafile={CA!r})
with open({ADMIN_KEY!r}) as handle:
    KEY = handle.read()
with open({PLAN!r}) as handle:
    PLAN = json.load(handle)


def post(path, body):
    request = urllib.request.Request(
        {BASE_URL!r} + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={{"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}},
    )
    with urllib.request.urlopen(request, context=CONTEXT, timeout=30) as answer:
        return answer.status


for role in PLAN["roles"]:
    try:
        post("/authz/roles", role)
        print("created role", role["name"])
    except urllib.error.HTTPError as error:
        if error.code != 409:
            sys.exit(f"creating role {{role['name']}}: HTTP {{error.code}} {{error.read()!r}}")
        post("/authz/roles/" + role["name"] + "/add-permissions",
             {{"permissions": role["permissions"]}})
        print("kept role", role["name"])
for assignment in PLAN["assignments"]:
    try:
        post("/authz/users/" + assignment["user"] + "/assign",
             {{"roles": assignment["roles"], "userType": "db"}})
    except urllib.error.HTTPError as error:
        sys.exit(f"assigning {{assignment}}: HTTP {{error.code}} {{error.read()!r}}")
    print("assigned", assignment["roles"], "to", assignment["user"])
'''


def roles_job_spec(
    image: str, build: BuildSource | None, plan: str, admin_key: Any, ca: Any
) -> ContainerSpec:
    return ContainerSpec(
        service="weaviate-roles",
        image=image,
        build=build,
        entrypoint=["python3", SCRIPT],
        command=[],
        user=f"{APP_UID}:{APP_UID}",
        uploads=[
            Upload(SCRIPT, script(), APP_UID),
            Upload(PLAN, plan, APP_UID),
            Upload(ADMIN_KEY, admin_key, APP_UID, "0400", secret=True),
            Upload(CA, ca, APP_UID),
        ],
        tmpfs={"/tmp": tmpfs_options(APP_UID, size="8m")},  # noqa: S108 (private tmpfs)
        one_shot=True,
    )
