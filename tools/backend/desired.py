"""What a state backend must be, as data: the bucket's and the key's settings, and the
lines that point the Pulumi CLI at them. No AWS call here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from stacks.backup_settings import S3StoreSettings
from stacks.models import BackendSettings

OWNER_TAG = "vos-infra:managed-by"
"""Tag on the bucket and the key this tool created; without it they are not touched."""


@dataclass(frozen=True)
class Backend:
    stack: str
    bucket: str
    region: str
    alias: str
    endpoint: str | None
    version_days: int
    setting: str = "backend"
    """Where the bucket's settings are (`backend`, or `backup.postgres.s3` for the backups'
    bucket): what the messages tell the operator to change."""

    @classmethod
    def of(cls, stack: str, settings: BackendSettings) -> Backend:
        return cls(
            stack,
            settings.bucket,
            settings.region,
            settings.kms_alias,
            settings.endpoint,
            settings.state_version_days,
        )

    @classmethod
    def for_backups(cls, stack: str, state: BackendSettings, store: S3StoreSettings) -> Backend:
        """The backups' bucket (backup.postgres.offsite s3) under the state bucket's rules:
        TLS only, SSE-KMS with the stack's key (the alias in the bucket's region), versions
        kept and expired after as many days, public access blocked. Objects the backup
        service prunes become old versions, which the lifecycle then expires."""
        return cls(
            stack,
            store.bucket,
            store.region,
            state.kms_alias,
            store.endpoint,
            state.state_version_days,
            "backup.postgres.s3",
        )

    @property
    def owner(self) -> str:
        return f"vos-infra/{self.stack}"

    def policy(self) -> dict[str, Any]:
        """Deny anything over plain HTTP; deny a put that asks for another encryption or
        another key (puts without encryption headers get the default SSE-KMS, which is how
        Pulumi's backend writes)."""
        bucket = f"arn:aws:s3:::{self.bucket}"
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket, f"{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "DenyOtherEncryption",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket}/*",
                    "Condition": {
                        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
                    },
                },
            ],
        }

    def encryption(self, key_arn: str) -> dict[str, Any]:
        return {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        }

    def lifecycle(self) -> dict[str, Any]:
        return {
            "Rules": [
                {
                    "ID": "expire-old-state-versions",
                    "Status": "Enabled",
                    "Filter": {},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": self.version_days},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                }
            ]
        }

    PUBLIC_ACCESS_BLOCK: ClassVar[dict[str, bool]] = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }

    def login_url(self) -> str:
        """pulumi login's S3 URL (gocloud.dev s3blob query parameters)."""
        query = {"region": self.region, "awssdk": "v2"}
        if self.endpoint:
            query |= {"endpoint": self.endpoint, "s3ForcePathStyle": "true"}
        return f"s3://{self.bucket}?{urlencode(query)}"

    def secrets_provider(self) -> str:
        return f"awskms://{self.alias}?{urlencode({'region': self.region})}"

    def commands(self) -> str:
        return "\n".join(
            [
                f"pulumi login '{self.login_url()}'",
                f"pulumi stack init {self.stack} --secrets-provider '{self.secrets_provider()}'",
            ]
        )


def policy_json(backend: Backend) -> str:
    return json.dumps(backend.policy(), sort_keys=True)
