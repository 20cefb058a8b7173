"""Drives Airflow itself -- the provider's AzureKeyVaultBackend and Airflow's two Connection
classes -- against the vaultref emulator, for crates/cli/tests/it/airflow_interop.rs.

    python airflow_backend.py RESULTS_FILE < requests.json

Each lookup names the backend's keyword arguments ("kwargs", what AIRFLOW__SECRETS__BACKEND_KWARGS
would hold; the backend is built from them as Airflow builds it) and "multi_team" ([core]
multi_team, set through its environment variable as a deployment would); credentials come from
the Azure variables of the environment (App Service managed identity, REQUESTS_CA_BUNDLE).
stdin is a JSON list of requests; RESULTS_FILE receives a JSON list with one answer each
(Airflow logs to stdout, so answers do not go there):

    {"op": "get_conn_value" | "get_variable", "id": ID, "team": TEAM or null} -> str or null
    {"op": "get_config", "id": KEY}                                          -> str or null
    {"op": "get_connection", "id": ID, "team": TEAM or null}
        -> null, or {"core": to_dict, "sdk": to_dict} (airflow.models / airflow.sdk readers)
    {"op": "write", "fields": {...}} -> {"uri": sdk get_uri, "core_uri": core get_uri,
                                          "json": as_json, "reads": read of that uri}
    {"op": "read", "value": STORED}  -> {"core": to_dict, "sdk": to_dict}
"""

import json
import os
import sys

from airflow.models.connection import Connection as CoreConnection
from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend
from airflow.sdk.definitions.connection import Connection as SdkConnection
from airflow.secrets import BaseSecretsBackend


def read_both(conn_id, value):
    """The stored value as each of Airflow's readers sees it (strip, JSON if it starts with {)."""
    return {
        cls_name: BaseSecretsBackend._deserialize_connection_value(cls, conn_id, value).to_dict(
            validate=False
        )
        for cls_name, cls in (("core", CoreConnection), ("sdk", SdkConnection))
    }


def main():
    requests = json.load(sys.stdin)
    backends = {}
    answers = []
    for request in requests:
        op = request["op"]
        if "kwargs" in request:
            key = json.dumps(request["kwargs"], sort_keys=True)
            if key not in backends:
                backends[key] = AzureKeyVaultBackend(**request["kwargs"])
            backend = backends[key]
            os.environ["AIRFLOW__CORE__MULTI_TEAM"] = "True" if request.get("multi_team") else "False"
        if op == "get_conn_value":
            answers.append(backend.get_conn_value(request["id"], team_name=request.get("team")))
        elif op == "get_variable":
            answers.append(backend.get_variable(request["id"], team_name=request.get("team")))
        elif op == "get_config":
            answers.append(backend.get_config(request["id"]))
        elif op == "get_connection":
            value = backend.get_conn_value(request["id"], team_name=request.get("team"))
            answers.append(read_both(request["id"], value) if value else None)
        elif op == "write":
            fields = dict(request["fields"])
            if isinstance(fields.get("extra"), dict):
                fields["extra"] = json.dumps(fields["extra"])
            sdk = SdkConnection(conn_id="written", **fields)
            core = CoreConnection(conn_id="written", **fields)
            answers.append(
                {
                    "uri": sdk.get_uri(),
                    "core_uri": core.get_uri(),
                    "json": sdk.as_json(),
                    "reads": read_both("written", sdk.get_uri()),
                }
            )
        elif op == "read":
            answers.append(read_both("read", request["value"]))
        else:
            raise ValueError(f"unknown op {op}")
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(answers, out)


if __name__ == "__main__":
    main()
