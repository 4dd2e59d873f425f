#!/bin/sh
# Stand-in for the mariadb image's docker-entrypoint.sh, on Debian's MariaDB.
# Runs inside the pod's private mount namespace, where /var/lib/mysql and
# /run/mysqld are this container's own directories. Listens on the pod IP
# (KUBELET_POD_IP), since all pods share the host network.
set -e
case "$1" in -*) set -- mariadbd "$@" ;; esac
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then exec "$@"; fi
shift
datadir=/var/lib/mysql
mkdir -p "$datadir" /run/mysqld
# A container has a /tmp of its own; here /tmp is the host's, and every mariadbd
# that starts deletes all #sql* temp tables in its tmpdir, another pod's
# bootstrap tables included (seen with pods starting side by side).
export TMPDIR=/run/mysqld/tmp
mkdir -p "$TMPDIR"
init_file=
if [ ! -d "$datadir/mysql" ]; then
  mariadb-install-db --user=root --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  init_file=/run/mysqld/init.sql
  {
    if [ -n "$MARIADB_ROOT_PASSWORD" ]; then
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$MARIADB_ROOT_PASSWORD';"
      echo "CREATE USER 'root'@'%' IDENTIFIED BY '$MARIADB_ROOT_PASSWORD';"
    else
      echo "CREATE USER 'root'@'%';"
    fi
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    [ -n "$MARIADB_DATABASE" ] && echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    if [ -n "$MARIADB_USER" ]; then
      echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';"
      [ -n "$MARIADB_DATABASE" ] && echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"
    fi
    echo "FLUSH PRIVILEGES;"
  } > "$init_file"
fi
exec mariadbd --user=root --datadir="$datadir" --socket=/run/mysqld/mysqld.sock \
  --pid-file=/run/mysqld/mysqld.pid --bind-address="${KUBELET_POD_IP:-127.0.0.1}" \
  ${init_file:+--init-file="$init_file"} "$@"
