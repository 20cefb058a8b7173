"""Airflow's secrets backend reading one variable per reference, as one whole process, for
`cargo xtask bench` (docs/benchmarks.md, "Cold start").

    python airflow_path.py KEYS.json

KEYS.json is a JSON list of variable keys. The provider's AzureKeyVaultBackend is built as
Airflow builds it from `[secrets] backend_kwargs` (vault_url, variables_prefix "bench"), with
the App Service managed identity of the environment (IDENTITY_ENDPOINT, IDENTITY_HEADER: the
emulator) and REQUESTS_CA_BUNDLE; each key is read with `get_variable`, one after another, as
a task's `Variable.get` calls do. The values are written to stdout as a JSON list.
"""

import json
import os
import socket
import sys

# glibc does not resolve *.localhost here; do what an /etc/hosts line would.
_getaddrinfo = socket.getaddrinfo


def _localhost_aware_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _localhost_aware_getaddrinfo

from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend  # noqa: E402


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        keys = json.load(file)
    backend = AzureKeyVaultBackend(
        vault_url=os.environ["VAULTREF_BENCH_VAULT_URL"], variables_prefix="bench"
    )
    json.dump([backend.get_variable(key) for key in keys], sys.stdout)


if __name__ == "__main__":
    main()
