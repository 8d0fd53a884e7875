"""Vault (OpenBao-compatible) resources: KV v2 secrets, policies and AppRoles via hvac."""

from components.vault.component import SecretStore, SecretStoreArgs, ServiceAccess

__all__ = ["SecretStore", "SecretStoreArgs", "ServiceAccess"]
