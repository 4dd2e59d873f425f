#!/usr/bin/env bash
# The main job, for now: synthesize the install bundle and the examples into
# dist/ (offline, no cluster needed) and say where they went.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cdk8s synth --no-check-upgrade >/dev/null
echo "Synthesized into $(pwd)/dist:"
for file in dist/*.k8s.yaml; do
  kinds=$(grep -E '^kind: ' "$file" | sort | uniq -c | awk '{printf "%s%s x%s", sep, $3, $1; sep=", "}')
  echo "  $file  ($kinds)"
done
echo
echo "Install Silo:        kubectl apply --server-side -f dist/silo-install.k8s.yaml"
echo "Seed examples:       kubectl apply -f dist/seed-examples.k8s.yaml"
echo "Programmatic fleet:  kubectl apply -f dist/fleet-schedules.k8s.yaml"
