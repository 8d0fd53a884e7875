"""Create, or bring back in line, the KMS key and the bucket of a state backend.

Idempotent: each step reads what is there and changes only what differs, so a second run
changes nothing and a run that failed half-way is finished by the next one. A bucket or a
key this tool did not create (no owner tag) is refused unless `adopt`, then tagged ours.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions

from tools.backend.aws import BackendError, clients, translated
from tools.backend.desired import OWNER_TAG, Backend


def _code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _key_tags(kms: Any, key_id: str) -> dict[str, str]:
    tags = kms.list_resource_tags(KeyId=key_id).get("Tags", [])
    return {t["TagKey"]: t["TagValue"] for t in tags}


def _our_orphan_key(kms: Any, backend: Backend) -> str | None:
    """A key an earlier run created but could not give the alias (a run that failed)."""
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            tags = _key_tags(kms, key["KeyId"])
            metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if (
                tags.get(OWNER_TAG) == f"{backend.owner} {backend.alias}"
                and metadata["KeyState"] == "Enabled"
            ):
                return str(metadata["Arn"])
    return None


def _key(kms: Any, backend: Backend, adopt: bool, actions: list[str]) -> str:
    owner = f"{backend.owner} {backend.alias}"
    try:
        metadata = kms.describe_key(KeyId=backend.alias)["KeyMetadata"]
    except botocore.exceptions.ClientError as error:
        if _code(error) != "NotFoundException":
            raise
        arn = _our_orphan_key(kms, backend)
        if arn is None:
            arn = kms.create_key(
                Description=f"vos-infra: secrets of the Pulumi state of stack {backend.stack}",
                KeyUsage="ENCRYPT_DECRYPT",
                KeySpec="SYMMETRIC_DEFAULT",
                Tags=[{"TagKey": OWNER_TAG, "TagValue": owner}],
            )["KeyMetadata"]["Arn"]
            actions.append(f"created a KMS key for {backend.alias}")
        kms.create_alias(AliasName=backend.alias, TargetKeyId=arn)
        actions.append(f"created the alias {backend.alias}")
        metadata = kms.describe_key(KeyId=backend.alias)["KeyMetadata"]
    key_id, arn = metadata["KeyId"], str(metadata["Arn"])
    if _key_tags(kms, key_id).get(OWNER_TAG) != owner:
        if not adopt:
            raise BackendError(
                f"{backend.alias} points to KMS key {key_id}, which vos-infra did not create; "
                "refusing to use it. Choose another backend.kmsAlias, or adopt this key "
                "(vos-infra backend bootstrap --adopt)"
            )
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": OWNER_TAG, "TagValue": owner}])
        actions.append(f"adopted KMS key {key_id}")
    if metadata["KeyState"] != "Enabled":
        raise BackendError(
            f"KMS key {key_id} ({backend.alias}) is {metadata['KeyState']}; state encrypted "
            "with it cannot be read. Cancel its deletion (aws kms cancel-key-deletion "
            f"--key-id {key_id}; aws kms enable-key --key-id {key_id}) or use another alias"
        )
    if not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
        kms.enable_key_rotation(KeyId=key_id)
        actions.append("enabled yearly rotation of the KMS key")
    return arn


def _bucket(s3: Any, backend: Backend, adopt: bool, actions: list[str]) -> None:
    try:
        s3.head_bucket(Bucket=backend.bucket)
    except botocore.exceptions.ClientError as error:
        code = _code(error)
        if code in ("403", "Forbidden", "AccessDenied"):
            raise BackendError(
                f"bucket {backend.bucket} exists but is not yours (or your credentials may "
                f"not read it); bucket names are global: choose another {backend.setting}.bucket"
            ) from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        create: dict[str, Any] = {"Bucket": backend.bucket}
        if backend.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": backend.region}
        try:
            s3.create_bucket(**create)
        except botocore.exceptions.ClientError as failed:
            if _code(failed) == "BucketAlreadyExists":
                raise BackendError(
                    f"bucket {backend.bucket} belongs to another AWS account; bucket names "
                    f"are global: choose another {backend.setting}.bucket"
                ) from None
            raise
        s3.put_bucket_tagging(
            Bucket=backend.bucket, Tagging={"TagSet": [{"Key": OWNER_TAG, "Value": backend.owner}]}
        )
        actions.append(f"created bucket {backend.bucket} in {backend.region}")
    if not _in_our_account(s3, backend.bucket):
        raise BackendError(
            f"bucket {backend.bucket} belongs to another AWS account; bucket names are global: "
            f"choose another {backend.setting}.bucket"
        )
    region = s3.get_bucket_location(Bucket=backend.bucket).get("LocationConstraint") or "us-east-1"
    if region != backend.region:
        raise BackendError(
            f"bucket {backend.bucket} is in {region}, not in {backend.setting}.region "
            f"{backend.region}; set pulumi config set --path "
            f"'vos-infra:{backend.setting}.region' {region} (the key must "
            "then be in that region too) or choose another bucket"
        )
    if _bucket_tags(s3, backend.bucket).get(OWNER_TAG) != backend.owner:
        if not adopt:
            raise BackendError(
                f"bucket {backend.bucket} was not created by vos-infra for stack "
                f"{backend.stack}; refusing to change it. Choose another "
                f"{backend.setting}.bucket, or adopt it (vos-infra backend bootstrap --adopt)"
            )
        tags = _bucket_tags(s3, backend.bucket) | {OWNER_TAG: backend.owner}
        s3.put_bucket_tagging(
            Bucket=backend.bucket,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        )
        actions.append(f"adopted bucket {backend.bucket}")


def _in_our_account(s3: Any, bucket: str) -> bool:
    """AWS answers 403 to a head of another account's bucket (handled above); stores that
    answer 200 (S3-compatible ones, moto) are caught here. Without s3:ListAllMyBuckets the
    question cannot be asked, and the 403 rule is all there is."""
    try:
        names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    except botocore.exceptions.ClientError as error:
        if _code(error) in ("AccessDenied", "403"):
            return True
        raise
    return bucket in names


def _bucket_tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        tags = s3.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    except botocore.exceptions.ClientError as error:
        if _code(error) != "NoSuchTagSet":
            raise
        return {}
    return {t["Key"]: t["Value"] for t in tags}


def _configure(s3: Any, backend: Backend, key_arn: str, actions: list[str]) -> None:
    """Each setting written only when it differs (see check.py for how each is read)."""
    from tools.backend.check import bucket_deviations

    bucket = backend.bucket
    for deviation in bucket_deviations(s3, backend, key_arn):
        if deviation.setting == "versioning":
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        elif deviation.setting == "encryption":
            s3.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=backend.encryption(key_arn)
            )
        elif deviation.setting == "ownership":
            s3.put_bucket_ownership_controls(
                Bucket=bucket,
                OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            )
        elif deviation.setting == "public-access":
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=Backend.PUBLIC_ACCESS_BLOCK
            )
        elif deviation.setting == "policy":
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(backend.policy()))
        elif deviation.setting == "lifecycle":
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration=backend.lifecycle()
            )
        actions.append(f"set {deviation.setting}: {deviation.message}")


def bootstrap(backend: Backend, adopt: bool = False) -> list[str]:
    """Make the backend what it must be; return what was done ([] when nothing was)."""
    s3, kms, sts = clients(backend)
    actions: list[str] = []
    with translated("checking the AWS credentials"):
        sts.get_caller_identity()
    with translated(f"preparing KMS key {backend.alias}"):
        key_arn = _key(kms, backend, adopt, actions)
    with translated(f"preparing bucket {backend.bucket}"):
        _bucket(s3, backend, adopt, actions)
        _configure(s3, backend, key_arn, actions)
    return actions
