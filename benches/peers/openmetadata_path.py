"""The path OpenMetadata's ingestion takes to read its secrets, as one whole process, for
`cargo xtask bench` (docs/benchmarks.md, "Cold start").

    python openmetadata_path.py DOCUMENT.json

Reads the environment the bench sets (VAULTREF_BENCH_VAULT_URL, _TENANT_ID, _CLIENT_ID,
_CLIENT_SECRET, _AUTHORITY_HOST; REQUESTS_CA_BUNDLE for the emulator's CA), builds a
ClientSecretCredential and a SecretClient as the ingestion's Azure client does, and replaces
every "secret:NAME" string of the document by `client.get_secret(NAME).value`: one call per
reference, one after another, nothing cached (the ingestion's CustomSecretStr reads the vault at
every use). The resolved document is written to stdout as JSON.
"""

import json
import os
import socket
import sys

from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

# glibc does not resolve *.localhost here; do what an /etc/hosts line would (SNI and the Host
# header keep the vault name, so the challenge-resource check stays on).
_getaddrinfo = socket.getaddrinfo


def _localhost_aware_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _localhost_aware_getaddrinfo


def resolve(node, client):
    if isinstance(node, dict):
        return {key: resolve(value, client) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, client) for value in node]
    if isinstance(node, str) and node.startswith("secret:"):
        return client.get_secret(node[len("secret:"):]).value
    return node


def main():
    env = os.environ
    credential = ClientSecretCredential(
        env["VAULTREF_BENCH_TENANT_ID"],
        env["VAULTREF_BENCH_CLIENT_ID"],
        env["VAULTREF_BENCH_CLIENT_SECRET"],
        authority=env["VAULTREF_BENCH_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
    client = SecretClient(env["VAULTREF_BENCH_VAULT_URL"], credential)
    with open(sys.argv[1], encoding="utf-8") as file:
        document = json.load(file)
    json.dump(resolve(document, client), sys.stdout)


if __name__ == "__main__":
    main()
