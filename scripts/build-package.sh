#!/usr/bin/env bash
# `npm run build:package` (run by `npm pack` through prepack): the construct library as the package ships it
# (decision 0152). lib/ holds src/ compiled to ES modules with .d.ts beside each file, plus the CRD YAML that
# src/install/crds.ts reads next to itself; schemas/ ships as it is (src/schema/ finds it above lib/).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf lib
npx tsc -p tsconfig.package.json
mkdir -p lib/generated/crds
cp src/generated/crds/*.yaml lib/generated/crds/
