"""Read an existing state backend and report every way it differs from what it must be
(desired.py); bootstrap writes exactly these settings. Reads only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from tools.backend.aws import clients, translated
from tools.backend.desired import OWNER_TAG, Backend


@dataclass(frozen=True)
class Deviation:
    setting: str
    message: str


def _missing(error: botocore.exceptions.ClientError, *codes: str) -> bool:
    return error.response.get("Error", {}).get("Code") in codes


def _id(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _versioning(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    status = s3.get_bucket_versioning(Bucket=backend.bucket).get("Status", "never enabled")
    return None if status == "Enabled" else f"versioning is {status}: old state could be lost"


def _encryption(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    try:
        config = s3.get_bucket_encryption(Bucket=backend.bucket)
    except botocore.exceptions.ClientError as error:
        if _missing(error, "ServerSideEncryptionConfigurationNotFoundError"):
            return "no default encryption"
        raise
    rule = (config["ServerSideEncryptionConfiguration"].get("Rules") or [{}])[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    if default.get("SSEAlgorithm") != "aws:kms":
        return f"default encryption is {default.get('SSEAlgorithm')}, not SSE-KMS"
    configured = str(default.get("KMSMasterKeyID", ""))
    if key_arn and configured not in (backend.alias, key_arn) and _id(configured) != _id(key_arn):
        return f"default encryption uses key {configured}, not {backend.alias}"
    if not rule.get("BucketKeyEnabled"):
        return "S3 bucket keys are off (every object costs a KMS call)"
    return None


def _ownership(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    try:
        rules = s3.get_bucket_ownership_controls(Bucket=backend.bucket)["OwnershipControls"]
    except botocore.exceptions.ClientError as error:
        if _missing(error, "OwnershipControlsNotFoundError"):
            return "object ownership is not enforced (ACLs still apply)"
        raise
    owners = [r.get("ObjectOwnership") for r in rules.get("Rules", [])]
    return None if owners == ["BucketOwnerEnforced"] else f"object ownership is {owners}"


def _public_access(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    try:
        block = s3.get_public_access_block(Bucket=backend.bucket)
    except botocore.exceptions.ClientError as error:
        if _missing(error, "NoSuchPublicAccessBlockConfiguration"):
            return "public access is not blocked"
        raise
    open_ = [k for k, v in block["PublicAccessBlockConfiguration"].items() if v is not True]
    return f"public access is allowed ({', '.join(sorted(open_))} off)" if open_ else None


def _statement_key(statement: dict[str, Any]) -> str:
    resource = statement.get("Resource")
    resources = sorted(resource) if isinstance(resource, list) else [resource]
    parts = {k: statement.get(k) for k in ("Effect", "Action", "Condition")}
    return json.dumps(parts | {"Resource": resources}, sort_keys=True)


def _policy(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=backend.bucket)["Policy"])
    except botocore.exceptions.ClientError as error:
        if _missing(error, "NoSuchBucketPolicy"):
            return "no bucket policy: plain-HTTP access and other encryption are not denied"
        raise
    have = {_statement_key(s) for s in current.get("Statement", [])}
    lacking = [s["Sid"] for s in backend.policy()["Statement"] if _statement_key(s) not in have]
    return f"the bucket policy lacks {', '.join(lacking)}" if lacking else None


def _lifecycle(s3: Any, backend: Backend, key_arn: str | None) -> str | None:
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=backend.bucket)["Rules"]
    except botocore.exceptions.ClientError as error:
        if _missing(error, "NoSuchLifecycleConfiguration"):
            return "old state versions are never expired"
        raise
    days = [
        r["NoncurrentVersionExpiration"].get("NoncurrentDays")
        for r in rules
        if r.get("Status") == "Enabled" and "NoncurrentVersionExpiration" in r
    ]
    if backend.version_days not in days:
        return f"old state versions expire after {days or 'never'}, not {backend.version_days} days"
    return None


BUCKET_SETTINGS = {
    "versioning": _versioning,
    "encryption": _encryption,
    "ownership": _ownership,
    "public-access": _public_access,
    "policy": _policy,
    "lifecycle": _lifecycle,
}


def bucket_deviations(s3: Any, backend: Backend, key_arn: str | None) -> list[Deviation]:
    found = []
    for setting, read in BUCKET_SETTINGS.items():
        message = read(s3, backend, key_arn)
        if message:
            found.append(Deviation(setting, message))
    return found


def _key(kms: Any, backend: Backend) -> tuple[str | None, list[Deviation]]:
    try:
        metadata = kms.describe_key(KeyId=backend.alias)["KeyMetadata"]
    except botocore.exceptions.ClientError as error:
        if _missing(error, "NotFoundException"):
            return None, [Deviation("key", f"the KMS alias {backend.alias} does not exist")]
        raise
    found = []
    key_id = metadata["KeyId"]
    if metadata["KeyState"] != "Enabled":
        found.append(Deviation("key", f"KMS key {key_id} is {metadata['KeyState']}"))
    elif not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
        found.append(Deviation("key", f"rotation of KMS key {key_id} is off"))
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    if tags.get(OWNER_TAG) != f"{backend.owner} {backend.alias}":
        found.append(Deviation("key", f"KMS key {key_id} is not managed by vos-infra"))
    return str(metadata["Arn"]), found


def _bucket_owner(s3: Any, bucket: str) -> str | None:
    try:
        tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except botocore.exceptions.ClientError as error:
        if not _missing(error, "NoSuchTagSet"):
            raise
        return None
    return next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None)


def check(backend: Backend) -> list[Deviation]:
    s3, kms, sts = clients(backend)
    with translated("checking the AWS credentials"):
        sts.get_caller_identity()
    with translated(f"reading KMS key {backend.alias}"):
        key_arn, found = _key(kms, backend)
    with translated(f"reading bucket {backend.bucket}"):
        try:
            s3.head_bucket(Bucket=backend.bucket)
        except botocore.exceptions.ClientError as error:
            if _missing(error, "404", "NoSuchBucket", "NotFound"):
                return [*found, Deviation("bucket", f"bucket {backend.bucket} does not exist")]
            raise
        location = s3.get_bucket_location(Bucket=backend.bucket).get("LocationConstraint")
        region = location or "us-east-1"
        if region != backend.region:
            found.append(Deviation("bucket", f"bucket is in {region}, not {backend.region}"))
        tags = {}
        try:
            tags = {
                t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=backend.bucket)["TagSet"]
            }
        except botocore.exceptions.ClientError as error:
            if not _missing(error, "NoSuchTagSet"):
                raise
        if tags.get(OWNER_TAG) != backend.owner:
            found.append(
                Deviation("bucket", f"bucket {backend.bucket} is not managed by vos-infra")
            )
        found += bucket_deviations(s3, backend, key_arn)
    return found
