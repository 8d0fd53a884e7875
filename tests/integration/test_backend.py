"""The prod state backend against moto: bootstrap creates what it must, a second run
changes nothing, check reports each deviation injected, every failure is one clear message,
and a run that fails half-way is finished by the next. In-process (moto's mock_aws) for the
logic; the real CLI against a moto_server on loopback for the end-to-end path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.registry import REGISTRY
from stacks import Settings, load_settings
from tests.helpers import stack_overrides
from tests.integration.moto_s3 import CREDENTIALS
from tests.integration.moto_s3 import moto_server as running_moto
from tools.backend.aws import BackendError
from tools.backend.bootstrap import bootstrap
from tools.backend.check import check
from tools.backend.desired import OWNER_TAG, Backend
from tools.cli.backend import backups_bucket_of, run_bootstrap, run_check

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
BACKEND = Backend("prod", "vos-infra-test-state", REGION, "alias/vos-infra-test", None, 90)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def kms() -> Any:
    return boto3.client("kms", region_name=REGION)


def test_bootstrap_creates_everything_and_a_second_run_changes_nothing(aws: None) -> None:
    actions = bootstrap(BACKEND)
    assert any("created bucket" in a for a in actions) and any("KMS key" in a for a in actions)
    assert check(BACKEND) == []
    assert bootstrap(BACKEND) == []
    # What Pulumi's backend needs from it, read back from the store itself:
    key = kms().describe_key(KeyId=BACKEND.alias)["KeyMetadata"]
    assert kms().get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    rule = s3().get_bucket_encryption(Bucket=BACKEND.bucket)["ServerSideEncryptionConfiguration"]
    assert rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key["Arn"]
    policy = json.loads(s3().get_bucket_policy(Bucket=BACKEND.bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"DenyInsecureTransport",
                                                         "DenyOtherEncryption"}  # fmt: skip
    assert s3().get_bucket_versioning(Bucket=BACKEND.bucket)["Status"] == "Enabled"


def _other_key() -> str:
    return str(kms().create_key()["KeyMetadata"]["Arn"])


DEVIATIONS: dict[str, tuple[Callable[[], Any], str]] = {
    "versioning suspended": (lambda: s3().put_bucket_versioning(
        Bucket=BACKEND.bucket, VersioningConfiguration={"Status": "Suspended"}),
        "versioning is Suspended"),
    "encryption off": (lambda: s3().delete_bucket_encryption(Bucket=BACKEND.bucket),
                       "no default encryption"),
    "another key": (lambda: s3().put_bucket_encryption(
        Bucket=BACKEND.bucket, ServerSideEncryptionConfiguration=BACKEND.encryption(
            _other_key())), "default encryption uses key"),
    "AES256 instead of KMS": (lambda: s3().put_bucket_encryption(
        Bucket=BACKEND.bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
        "default encryption is AES256"),
    "public access allowed": (lambda: s3().put_public_access_block(
        Bucket=BACKEND.bucket, PublicAccessBlockConfiguration=Backend.PUBLIC_ACCESS_BLOCK | {
            "BlockPublicPolicy": False}), "public access is allowed (BlockPublicPolicy off)"),
    "TLS not enforced": (lambda: s3().delete_bucket_policy(Bucket=BACKEND.bucket),
                         "no bucket policy"),
    "key rotation off": (lambda: kms().disable_key_rotation(
        KeyId=kms().describe_key(KeyId=BACKEND.alias)["KeyMetadata"]["KeyId"]),
        "rotation of KMS key"),
    "key pending deletion": (lambda: kms().schedule_key_deletion(
        KeyId=kms().describe_key(KeyId=BACKEND.alias)["KeyMetadata"]["KeyId"],
        PendingWindowInDays=7), "is PendingDeletion"),
    "lifecycle removed": (lambda: s3().delete_bucket_lifecycle(Bucket=BACKEND.bucket),
                          "old state versions are never expired"),
    "ownership not enforced": (lambda: s3().delete_bucket_ownership_controls(
        Bucket=BACKEND.bucket), "object ownership is not enforced"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DEVIATIONS))
def test_check_reports_each_injected_deviation(aws: None, name: str) -> None:
    bootstrap(BACKEND)
    inject, expected = DEVIATIONS[name]
    inject()
    found = check(BACKEND)
    assert any(expected in d.message for d in found), (name, found)


def test_bootstrap_repairs_what_it_manages(aws: None) -> None:
    bootstrap(BACKEND)
    for name in ("versioning suspended", "TLS not enforced", "key rotation off"):
        DEVIATIONS[name][0]()
    assert {d.setting for d in check(BACKEND)} == {"versioning", "policy", "key"}
    assert bootstrap(BACKEND) and check(BACKEND) == []


def test_no_credentials_is_one_clear_message(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(BackendError, match=r"no AWS credentials\. Use the standard chain"):
        bootstrap(BACKEND)


def test_an_alias_pointing_to_a_key_not_ours_is_refused_unless_adopted(aws: None) -> None:
    foreign = kms().create_key()["KeyMetadata"]["KeyId"]
    kms().create_alias(AliasName=BACKEND.alias, TargetKeyId=foreign)
    with pytest.raises(BackendError, match=r"points to KMS key .* vos-infra did not create"):
        bootstrap(BACKEND)
    assert not _bucket_exists()  # nothing half-created
    actions = bootstrap(BACKEND, adopt=True)
    assert f"adopted KMS key {foreign}" in actions and check(BACKEND) == []


def test_a_bucket_not_ours_is_refused_unless_adopted(aws: None) -> None:
    s3().create_bucket(Bucket=BACKEND.bucket,
                       CreateBucketConfiguration={"LocationConstraint": REGION})  # fmt: skip
    with pytest.raises(BackendError, match=r"was not created by vos-infra.*--adopt"):
        bootstrap(BACKEND)
    untouched = _safe(lambda: s3().get_bucket_policy(Bucket=BACKEND.bucket))
    assert "NoSuchBucketPolicy" in str(untouched)
    assert bootstrap(BACKEND, adopt=True) and check(BACKEND) == []


def test_a_bucket_of_another_account_is_named(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
    s3().create_bucket(Bucket=BACKEND.bucket,
                       CreateBucketConfiguration={"LocationConstraint": REGION})  # fmt: skip
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "123456789012")
    with pytest.raises(BackendError, match=r"belongs to another AWS account"):
        bootstrap(BACKEND)


def test_a_bucket_in_another_region_is_named(aws: None) -> None:
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket=BACKEND.bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    with pytest.raises(BackendError, match=r"is in us-west-2, not in backend.region"):
        bootstrap(BACKEND)


def test_a_run_that_fails_half_way_is_finished_by_the_next(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.session.Session.client

    def failing_policy(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        client = real(self, name, *args, **kwargs)
        if name == "s3":

            def refuse(**_: Any) -> None:
                raise boto3.client("s3").exceptions.ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "policy not allowed"}},
                    "PutBucketPolicy",
                )

            client.put_bucket_policy = refuse
        return client

    monkeypatch.setattr(boto3.session.Session, "client", failing_policy)
    with pytest.raises(BackendError, match=r"access denied \(policy not allowed\)"):
        bootstrap(BACKEND)
    monkeypatch.setattr(boto3.session.Session, "client", real)
    assert any(d.setting == "policy" for d in check(BACKEND))
    actions = bootstrap(BACKEND)
    assert not any("created" in a for a in actions)  # the same bucket and key, finished
    assert check(BACKEND) == []
    keys = kms().list_keys()["Keys"]
    assert len(keys) == 1


def _bucket_exists() -> bool:
    return BACKEND.bucket in [b["Name"] for b in s3().list_buckets()["Buckets"]]


def _safe(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as error:
        return error


def test_the_printed_commands_point_pulumi_at_the_bucket_and_key() -> None:
    assert BACKEND.login_url() == f"s3://{BACKEND.bucket}?region={REGION}&awssdk=v2"
    assert BACKEND.secrets_provider() == f"awskms://alias/vos-infra-test?region={REGION}"


# --- the real CLI against moto_server -------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with running_moto() as url:
        yield url


def _cli(url: str, *args: str, credentials: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent"}  # fmt: skip
    if credentials:
        env |= CREDENTIALS
    return subprocess.run(
        [sys.executable, "-m", "tools.cli.main", "backend", *args, "--stack", "prod"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_cli_bootstraps_and_checks_the_prod_backend_on_a_server(moto_server: str) -> None:
    missing = _cli(moto_server, "check", credentials=False)
    assert missing.returncode == 2 and "no AWS credentials" in missing.stderr
    assert "Traceback" not in missing.stderr
    first = _cli(moto_server, "bootstrap")
    assert first.returncode == 0, first.stderr
    assert "pulumi login 's3://vos-infra-prod-state?region=eu-central-1&awssdk=v2'" in first.stdout
    assert "--secrets-provider 'awskms://alias/vos-infra-prod-state?region=eu-central-1'" in (
        first.stdout
    )
    again = _cli(moto_server, "bootstrap")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert _cli(moto_server, "check").returncode == 0
    store = boto3.client("s3", endpoint_url=moto_server, region_name=REGION,
                         aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    store.put_bucket_versioning(Bucket="vos-infra-prod-state",
                                VersioningConfiguration={"Status": "Suspended"})  # fmt: skip
    failed = _cli(moto_server, "check")
    assert failed.returncode == 1
    assert "[versioning] versioning is Suspended" in failed.stdout
    assert "fix: vos-infra backend bootstrap --stack prod" in failed.stdout
    exports = _cli(moto_server, "env")
    assert "export PULUMI_BACKEND_URL='s3://vos-infra-prod-state" in exports.stdout
    assert OWNER_TAG  # the tag that marks what bootstrap created


# --- the backups' bucket (backup.postgres.offsite s3) under the same rules -------------------

BACKUP_STORE = {
    "bucket": "vos-infra-test-backups",
    "region": REGION,
    "accessKeyId": "AKIAEXAMPLEKEYID0001",
    "secretAccessKey": "an-example-secret-access-key-value",
}


def _with_backup_bucket(store: dict[str, Any]) -> Settings:
    own = stack_overrides("prod")
    return load_settings(
        "prod", own | {"backup": {"postgres": {"offsite": "s3", "s3": store}}}, REGISTRY
    )


def test_the_backups_bucket_gets_the_state_bucket_s_rules_and_its_own_messages(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _with_backup_bucket(BACKUP_STORE)
    monkeypatch.setattr("tools.cli.backend.stack_settings", lambda stack: settings)
    backups = backups_bucket_of("prod")
    assert backups is not None and backups.bucket == "vos-infra-test-backups"
    made = run_bootstrap("prod", adopt=False)
    assert "backups' bucket of stack prod: s3://vos-infra-test-backups" in made
    assert check(backups) == [] and bootstrap(backups) == []
    policy = json.loads(s3().get_bucket_policy(Bucket=backups.bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"DenyInsecureTransport",
                                                         "DenyOtherEncryption"}  # fmt: skip
    assert s3().get_bucket_versioning(Bucket=backups.bucket)["Status"] == "Enabled"
    rules = s3().get_bucket_lifecycle_configuration(Bucket=backups.bucket)["Rules"]
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == backups.version_days
    # Encrypted with the state's key (one alias per region), read back from the store.
    assert settings.backend is not None
    keys = {
        s3().get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
            "ApplyServerSideEncryptionByDefault"
        ]["KMSMasterKeyID"]
        for bucket in (settings.backend.bucket, backups.bucket)
    }
    assert keys == {kms().describe_key(KeyId=settings.backend.kms_alias)["KeyMetadata"]["Arn"]}
    passed, ok = run_check("prod")
    assert ok and "backend check passed (prod, backup.postgres.s3)" in passed
    # What goes wrong is said with the backups' own settings.
    moved = _with_backup_bucket({**BACKUP_STORE, "region": "us-west-2"}).backup.postgres.s3
    assert moved is not None
    elsewhere = Backend.for_backups("prod", settings.backend, moved)
    with pytest.raises(BackendError, match=r"backup\.postgres\.s3\.region"):
        bootstrap(elsewhere)
