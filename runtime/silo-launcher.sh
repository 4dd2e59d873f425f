#!/bin/sh
# Silo's `silo` command in the image (copied to build/silo by scripts/build-runtime.sh).
# A streaming worker allocates and frees 1 MiB buffers across threads for hours. With glibc's
# defaults those frees raise the mmap threshold, later buffers come from per-thread arenas, and RSS
# creeps up with fragmentation; a fixed threshold returns them to the kernel. A 2 MiB young
# generation is plenty for a short-lived worker whose data lives outside the JavaScript heap; the
# long-running servers (instance manager, controller) keep V8's default, which costs them less CPU.
# --single-threaded-gc: on the worker's 2 busy cores, V8's helper threads (parallel scavenges of that
# small young generation, concurrent marking and sweeping) cost more in wake-ups than the work they
# do; a restore of 1.4 GB spent 1.2 CPU-s less without them (decision 0016).
# Measured in docs/benchmarks.md; decision 0016. Values already in the environment win.
# The settings are for this Node process only: SILO_LAUNCHER_SET names the ones set here, and the CLI
# drops them from its environment at start (glibc has read them by then), so the programs it starts
# (pgBackRest, postgres, mariadbd, mbstream, mariadb-backup) keep glibc's defaults (decision 0016).
SILO_LAUNCHER_SET=''
if [ -z "${MALLOC_ARENA_MAX+set}" ]; then MALLOC_ARENA_MAX=2; SILO_LAUNCHER_SET="$SILO_LAUNCHER_SET MALLOC_ARENA_MAX"; fi
if [ -z "${MALLOC_MMAP_THRESHOLD_+set}" ]; then MALLOC_MMAP_THRESHOLD_=262144; SILO_LAUNCHER_SET="$SILO_LAUNCHER_SET MALLOC_MMAP_THRESHOLD_"; fi
export MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_ SILO_LAUNCHER_SET
# One fork, not two: every Job and init container starts through here.
self=$(readlink -f "$0")
here=${self%/*}
case "$1" in
  instance-manager|controller) exec node "$here/silo-cli.mjs" "$@" ;;
  *) exec node --max-semi-space-size=2 --single-threaded-gc "$here/silo-cli.mjs" "$@" ;;
esac
