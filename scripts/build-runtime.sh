#!/usr/bin/env bash
# `npm run build:runtime [out]`: what Silo's image ships, in build/ or out (decisions 0011, 0015, 0016;
# the process kubelet builds its own copy under .cache/silo-image/, decision 0105).
#   build/silo-cli.mjs + build/chunks/  the esbuild bundle, split so a worker loads only its store's SDK
#   build/silo                          the image's `silo` command: node with the worker's memory settings
# --keep-names: node-fetch (under the GCS client) recognises an AbortSignal by its class name, which
# bundling would otherwise rename (AbortSignal2); every GCS upload from the image failed without it.
# --main-fields=module,main: the SDKs' ES module builds, which esbuild can tree-shake (the S3 chunks
# fall from 1.37 MB to 0.26 MB; decision 0015).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build}
rm -rf "$out"
npx esbuild runtime/cli.ts --bundle --splitting --platform=node --format=esm --target=node20 \
  "--outdir=$out" --entry-names=silo-cli --chunk-names='chunks/[name]-[hash]' --out-extension:.js=.mjs \
  --external:zstd-napi --keep-names --main-fields=module,main --log-level=warning \
  "--banner:js=import { createRequire as __siloRequire } from 'node:module'; const require = __siloRequire(import.meta.url);"
cp runtime/silo-launcher.sh "$out/silo"
chmod +x "$out/silo"
