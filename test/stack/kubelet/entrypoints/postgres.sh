#!/bin/sh
# Stand-in for the postgres image's docker-entrypoint.sh, on Debian's
# PostgreSQL 15. PGDATA is this container's own directory (private mount
# namespace); postgres refuses root, so it runs as the Debian postgres user.
# Listens on the pod IP (KUBELET_POD_IP), since all pods share the host network.
set -e
bin=/usr/lib/postgresql/15/bin
case "$1" in -*) set -- postgres "$@" ;; esac
if [ "$1" != postgres ]; then exec "$@"; fi
shift
: "${PGDATA:=/var/lib/postgresql/data}"
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=/var/run/postgresql/.pw
  printf '%s\n' "${POSTGRES_PASSWORD:-postgres}" > "$pwfile"; chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=trust >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses="${KUBELET_POD_IP:-127.0.0.1}" \
  -c unix_socket_directories=/var/run/postgresql "$@"
