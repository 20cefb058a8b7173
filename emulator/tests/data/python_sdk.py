"""Drives the official Python SDKs (azure-identity + azure-keyvault-secrets) against the
vaultref emulator. Run by emulator/tests/it/python_sdk.rs, one process per credential mode:

    python python_sdk.py client-secret|workload|mi-appservice|mi-imds

Configuration comes from the environment exactly as a user would set it (AZURE_*, IDENTITY_*,
AZURE_POD_IDENTITY_AUTHORITY_HOST, REQUESTS_CA_BUNDLE) plus VAULT_URL and, for the negative
checks, EMU_* variables. Prints one "PASS <operation>" line per checked operation and exits
non-zero on the first failure.
"""

import os
import socket
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import (
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.keyvault.secrets import SecretClient

# glibc here does not resolve *.localhost; do what an /etc/hosts line would (SNI and the Host
# header keep the vault name, so routing and the challenge-resource check are unchanged).
_getaddrinfo = socket.getaddrinfo


def _localhost_aware_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _localhost_aware_getaddrinfo


def passed(what):
    print(f"PASS {what}", flush=True)


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def credential_for(mode):
    env = os.environ
    if mode == "client-secret":
        return ClientSecretCredential(
            env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            env["AZURE_CLIENT_SECRET"],
            authority=env["AZURE_AUTHORITY_HOST"],
            disable_instance_discovery=True,
        )
    if mode == "workload":
        # Reads AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST.
        return WorkloadIdentityCredential()
    if mode in ("mi-appservice", "mi-imds"):
        # IDENTITY_ENDPOINT + IDENTITY_HEADER, or AZURE_POD_IDENTITY_AUTHORITY_HOST.
        return ManagedIdentityCredential()
    raise SystemExit(f"unknown mode {mode}")


def every_operation(client, prefix):
    name = f"{prefix}-secret"
    first = client.set_secret(name, "v1", content_type="text/plain", tags={"a": "b"})
    check(first.value == "v1" and len(first.properties.version) == 32, "set returns the bundle")
    second = client.set_secret(name, "v2", expires_on=None, not_before=None, enabled=True)
    check(second.properties.version != first.properties.version, "set makes a new version")
    passed("set_secret (new version each time)")

    latest = client.get_secret(name)
    check(latest.value == "v2", "get latest")
    check(client.get_secret(name.upper()).value == "v2", "names are case-insensitive")
    check(client.get_secret(name, first.properties.version).value == "v1", "get by version")
    passed("get_secret (latest, by version, case-insensitive)")

    for i in range(3):
        client.set_secret(f"{prefix}-page-{i}", f"p{i}")
    pages = list(client.list_properties_of_secrets(max_page_size=2).by_page())
    names = [p.name for page in pages for p in page]
    check(len(pages) >= 2, f"paging with maxresults: {len(pages)} page(s)")
    check({f"{prefix}-page-{i}" for i in range(3)} <= set(names), "all secrets listed")
    passed("list_properties_of_secrets (paged)")
    versions = list(client.list_properties_of_secret_versions(name, max_page_size=1))
    check(len(versions) == 2, "two versions")
    passed("list_properties_of_secret_versions (paged)")

    updated = client.update_secret_properties(
        name, content_type="application/json", enabled=False, tags={"t": "1"}
    )
    check(updated.content_type == "application/json" and updated.enabled is False, "update")
    try:
        client.get_secret(name)
        check(False, "a disabled secret must not be readable")
    except HttpResponseError as error:
        check(error.status_code == 403, f"disabled get is 403, got {error.status_code}")
    client.update_secret_properties(name, updated.version, enabled=True)
    check(client.get_secret(name).value == "v2", "re-enabled")
    passed("update_secret_properties (contentType, enabled, tags)")

    backup = client.backup_secret(name)
    check(isinstance(backup, bytes) and len(backup) > 0, "backup blob")
    passed("backup_secret")

    deleted = client.begin_delete_secret(name).result()
    check(deleted.name == name and deleted.recovery_id, "delete returns a deleted secret")
    passed("begin_delete_secret")
    check(client.get_deleted_secret(name).name == name, "get deleted")
    passed("get_deleted_secret")
    check(name in [d.name for d in client.list_deleted_secrets()], "list deleted")
    passed("list_deleted_secrets")
    try:
        client.set_secret(name, "v3")
        check(False, "setting a deleted name must conflict")
    except ResourceExistsError as error:
        check(error.status_code == 409, "409")
        check("ObjectIsDeletedButRecoverable" in str(error) or "deleted but recoverable" in str(error), str(error))
    passed("set on a soft-deleted name is 409 Conflict")

    recovered = client.begin_recover_deleted_secret(name).result()
    check(recovered.name == name, "recover")
    check(client.get_secret(name).value == "v2", "recovered value")
    passed("begin_recover_deleted_secret")

    client.begin_delete_secret(name).result()
    client.purge_deleted_secret(name)
    try:
        client.get_deleted_secret(name)
        check(False, "purged secret must be gone")
    except ResourceNotFoundError:
        pass
    passed("purge_deleted_secret (204)")

    restored = client.restore_secret_backup(backup)
    check(restored.name == name, "restore")
    check(client.get_secret(name).value == "v2", "restored value")
    check(len(list(client.list_properties_of_secret_versions(name))) == 2, "restored versions")
    passed("restore_secret_backup")

    try:
        client.get_secret(f"{prefix}-missing")
        check(False, "missing secret")
    except ResourceNotFoundError as error:
        check(error.status_code == 404, "404")
    passed("get of a missing secret is 404 SecretNotFound")


class StaticToken:
    """A credential that always returns one fixed token (to present bad tokens to the vault)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def expect_vault_401(vault_url, token, marker, what):
    client = SecretClient(vault_url, StaticToken(token))
    try:
        client.get_secret("anything")
        check(False, f"{what} must be refused")
    except ClientAuthenticationError as error:
        check(error.status_code == 401, f"{what}: 401, got {error.status_code}")
        check(marker in str(error), f"{what}: expected {marker!r} in {error}")
    passed(what)


def negatives(vault_url):
    env = os.environ
    wrong = ClientSecretCredential(
        env["AZURE_TENANT_ID"],
        env["AZURE_CLIENT_ID"],
        "not-the-secret",
        authority=env["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
    try:
        SecretClient(vault_url, wrong).get_secret("anything")
        check(False, "a wrong client secret must fail")
    except ClientAuthenticationError as error:
        check("AADSTS7000215" in str(error), str(error))
    passed("wrong client secret is 401 invalid_client AADSTS7000215")

    # The rest needs tokens and identities made through the emulator's library API; a run
    # against `vaultref emulator` alone leaves these variables unset.
    if "EMU_EXPIRED_TOKEN" not in env:
        return
    expect_vault_401(vault_url, env["EMU_EXPIRED_TOKEN"], "TokenExpired", "expired token is 401 Unauthorized")
    expect_vault_401(
        vault_url, env["EMU_OTHER_AUDIENCE_TOKEN"], "AKV10022", "token for another audience is 401 AKV10022"
    )

    reader = ClientSecretCredential(
        env["AZURE_TENANT_ID"],
        env["EMU_READER_ID"],
        env["EMU_READER_SECRET"],
        authority=env["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
    reader_client = SecretClient(vault_url, reader)
    check(reader_client.get_secret("seeded").value == "seeded-value", "reader can get")
    try:
        reader_client.set_secret("seeded", "overwrite")
        check(False, "a reader must not set")
    except HttpResponseError as error:
        check(error.status_code == 403, f"403, got {error.status_code}")
        check(error.error is not None and error.error.code == "Forbidden", str(error))
    passed("reader setting a secret is 403 Forbidden")


def main():
    mode = sys.argv[1]
    vault_url = os.environ["VAULT_URL"]
    credential = credential_for(mode)
    # The default vault at 127.0.0.1 cannot pass the challenge-resource check (no subdomain);
    # the named vault at {name}.localhost:PORT does, so verification stays on there.
    verify = ".localhost" in vault_url
    client = SecretClient(vault_url, credential, verify_challenge_resource=verify)
    every_operation(client, mode)
    if mode == "mi-imds" and os.environ.get("EMU_UAMI_CLIENT_ID"):
        uami = ManagedIdentityCredential(client_id=os.environ["EMU_UAMI_CLIENT_ID"])
        check(SecretClient(vault_url, uami, verify_challenge_resource=verify).get_secret("seeded").value == "seeded-value", "uami")
        passed("user-assigned managed identity by client_id")
    if mode == "client-secret":
        negatives(vault_url)
    print("ALL PASSED", flush=True)


if __name__ == "__main__":
    main()
