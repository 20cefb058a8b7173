#!/bin/sh
# Entry of the MariaDB test image that `cargo xtask images` builds from Debian packages:
# root without a password from any host, and a database `test`, like the project's machines.
set -eu
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
fi
# Connections arrive through the published port, from the bridge: root must be allowed from
# any host, not only localhost.
cat >/run/mysqld/init.sql <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS test;
SQL
exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 --port=3306 \
  --skip-name-resolve --init-file=/run/mysqld/init.sql
