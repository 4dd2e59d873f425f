#!/usr/bin/env bash
# The main job: synthesize the install bundle and the examples into dist/
# (offline), then demonstrate a Cluster, a Backup and two recoveries on the real local stack
# (kube-apiserver, process kubelet, MinIO, MariaDB; built and started by the
# project's own scripts, cached in ~/.cache/silo). SILO_SKIP_DEMO=1 only synthesizes.
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

if [ "${SILO_SKIP_DEMO:-}" = "1" ]; then exit 0; fi
echo
echo "Demonstration on the local stack (first run builds it: about 30 min on 2 cores):"
npx tsx scripts/demo/cluster-recovery-demo.ts
echo
npx tsx scripts/demo/pg-pitr-demo.ts
