"""The backup service's sealed copies (backup.postgres.offsite) as container parts: the
entrypoint's arguments, the files and environment they need, the volume they go to. Pure:
no resources created here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.docker.spec import TLS_DIR, Upload
from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from components.postgres_backup import files
from components.postgres_backup.definition import DEFINITION
from stacks.backup_settings import S3StoreSettings

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid


@dataclass(frozen=True)
class Offsite:
    """The key that seals the copies (a secret Output), how many days of them to keep, and
    the bucket with the service's egress identity (certificate, key) when they go to S3
    (None: to a volume of their own)."""

    key: Any
    window_days: int
    s3: S3StoreSettings | None = None
    egress: tuple[Any, Any] | None = None


@dataclass(frozen=True)
class Copies:
    command: list[str] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    kept_volumes: dict[str, str] = field(default_factory=dict)


def copies(offsite: Offsite | None) -> Copies:
    if offsite is None:
        return Copies()
    command = [
        *("--offsite-key", files.OFFSITE_KEY, "--offsite-scratch", files.OFFSITE_SCRATCH),
        *("--offsite-window-days", str(offsite.window_days)),
    ]
    uploads = [Upload(files.OFFSITE_KEY, offsite.key, UID, "0400", secret=True)]
    if offsite.s3 is None:
        return Copies(
            [*command, "--store-dir", files.OFFSITE_STORE],
            uploads,
            kept_volumes={files.OFFSITE_STORE: "offsite"},
        )
    s3 = offsite.s3
    assert offsite.egress is not None, "a bucket is reached through the egress proxy"
    cert, key = offsite.egress
    return Copies(
        [
            *command,
            *("--s3-bucket", s3.bucket, "--s3-region", s3.region, "--s3-prefix", s3.prefix),
            *(("--s3-endpoint", s3.endpoint) if s3.endpoint else ()),
            # The only way out: the egress proxy, which knows the service by this identity.
            *("--proxy", f"https://{EGRESS_PROXY.dns_name}:{EGRESS_PROXY.tls_port}"),
            *("--proxy-ca", f"{TLS_DIR}/ca.crt"),
            *("--proxy-cert", files.EGRESS_CERT, "--proxy-key", files.EGRESS_KEY),
        ],
        [
            *uploads,
            Upload(
                files.S3_CREDENTIALS,
                files.s3_credentials(s3.access_key_id, s3.secret_access_key),
                UID,
                "0400",
                secret=True,
            ),
            Upload(files.EGRESS_CERT, cert, UID),
            Upload(files.EGRESS_KEY, key, UID, "0400", secret=True),
        ],
        # botocore: the keys from that file only; no instance metadata to ask (no route).
        env={
            "AWS_SHARED_CREDENTIALS_FILE": files.S3_CREDENTIALS,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
