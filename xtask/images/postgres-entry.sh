#!/bin/sh
# Entry of the PostgreSQL test image that `cargo xtask images` builds from Debian packages:
# a server that trusts every connection, with a database `test`, like the project's machines.
# Test data only: fsync is off. JIT is off: the image leaves LLVM out.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data=/var/lib/postgresql/data
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$data" /var/run/postgresql
chown postgres:postgres "$data" /var/run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
  as_postgres "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  # Connections arrive through the published port, from the bridge: not local ones.
  echo "host all all all trust" >>"$data/pg_hba.conf"
  echo "CREATE DATABASE test" | as_postgres "$bin/postgres" --single -D "$data" postgres >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
  -c listen_addresses='*' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off
