#!/usr/bin/env bash
# `npm run images`: builds Silo's two images from images/Containerfile (decision 0150) into the local
# containers-storage, and prints each one's name, size and build time.
#   silo                  <registry>/silo:<version>                 (the `silo` command, Node, zstd)
#   mysql-instance        <registry>/silo-mysql-instance:<version>  (MariaDB, mariadb-backup, zstd, `silo`)
#   postgres-instance     <registry>/silo-postgres-instance:<version> (PostgreSQL 15, pgBackRest, `silo`)
# The names come from src/install/images.ts, like the install bundle's: SILO_IMAGE_REGISTRY and SILO_VERSION
# change all three (docs/install.md). Installs buildah, podman, skopeo, debootstrap and runc when they are missing
# (as root), and builds the base image locally when it is missing (scripts/images/base.sh). Layers are cached
# by buildah: a warm run with nothing changed takes seconds. Set SILO_IMAGES_PUSH=1 to push both after the build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache="${SILO_CACHE_DIR:-$HOME/.cache/silo}/images"
mkdir -p "$cache"
log() { echo "images: $*" >&2; }
# shellcheck source=images/versions.env
set -a && . "$repo/images/versions.env" && set +a
BASE_IMAGE="docker.io/library/node:$NODE_VERSION-$DEBIAN_SUITE-slim"
# shellcheck source=scripts/images/base.sh
. "$repo/scripts/images/base.sh"
# shellcheck source=scripts/images/engine.sh
. "$repo/scripts/images/engine.sh"

ensure_tools
use_engine_settings

start=$(date +%s)
ensure_base
base_seconds=$(($(date +%s) - start))

# Names: the same function the install bundle uses, so the bundle and the images always agree.
names=$(cd "$repo" && npx tsx scripts/images/names.ts)
eval "$names"
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
# Reproducible: file times and the image's creation time are the last commit's, not the clock's.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}

# The build stage's npm: this machine's npm cache (so a build needs the registry only for what the cache
# lacks) and its CA bundle (the registry's certificate may chain to a CA that only the host trusts).
npmrc="$cache/build-npmrc"
printf 'cafile=/run/host-certs/ca-certificates.crt\nprefer-offline=true\n' >"$npmrc"
mkdir -p "$HOME/.npm"

build() {
  local target=$1 name=$2 t0
  t0=$(date +%s)
  buildah bud --quiet --layers --pull=never --timestamp "$epoch" --target "$target" -f "$repo/images/Containerfile" \
    --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "MARIADB_SERIES=$MARIADB_SERIES" --build-arg "ZSTD_SERIES=$ZSTD_SERIES" \
    --build-arg "POSTGRESQL_SERIES=$POSTGRESQL_SERIES" --build-arg "PGBACKREST_SERIES=$PGBACKREST_SERIES" \
    --build-arg "SILO_VERSION=$SILO_VERSION" --build-arg "SILO_REVISION=$revision" --build-arg "SOURCE_DATE_EPOCH=$epoch" \
    -v /etc/ssl/certs:/run/host-certs:ro -v "$npmrc:/usr/local/etc/npmrc:ro" -v "$HOME/.npm:/root/.npm" \
    -t "$name" "$repo" >/dev/null
  local seconds=$(($(date +%s) - t0)) size
  size=$(podman image inspect --format '{{.Size}}' "$name")
  printf 'images: %-17s %-60s %4d MB  built in %3d s\n' "$target" "$name" $((size / 1000000)) "$seconds" >&2
}

log "building with base $BASE_IMAGE (ready in ${base_seconds} s), SOURCE_DATE_EPOCH=$epoch"
build silo "$SILO_IMAGE"
build mysql-instance "$SILO_MYSQL_INSTANCE_IMAGE"
build postgres-instance "$SILO_PG_INSTANCE_IMAGE"
log "done in $(($(date +%s) - start)) s"
if [ "${SILO_IMAGES_PUSH:-}" = 1 ]; then
  for image in "$SILO_IMAGE" "$SILO_MYSQL_INSTANCE_IMAGE" "$SILO_PG_INSTANCE_IMAGE"; do
    log "pushing $image"
    podman push "$image"
  done
fi
