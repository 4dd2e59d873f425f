/**
 * terminationMessagePath / terminationMessagePolicy: the container writes a
 * short reason to /dev/termination-log (bind-mounted from a host file), and
 * the kubelet reports it as state.terminated.message; with
 * FallbackToLogsOnError a failed container's log tail is used instead.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';

const MAX_MESSAGE_BYTES = 4096; // the kubelet's limit per container
const FALLBACK_LOG_BYTES = 2048;
const FALLBACK_LOG_LINES = 80;

export function terminationMessageTarget(container: V1Container): string {
  return container.terminationMessagePath || '/dev/termination-log';
}

/** Creates (empties) the host file that is bind-mounted at the container's terminationMessagePath. */
export function prepareTerminationFile(hostPath: string): void {
  mkdirSync(dirname(hostPath), { recursive: true });
  writeFileSync(hostPath, '');
}

function logTail(logPath: string): string {
  try {
    const size = statSync(logPath).size;
    const start = Math.max(0, size - FALLBACK_LOG_BYTES);
    const buf = Buffer.alloc(size - start);
    const fd = openSync(logPath, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').split('\n').slice(-FALLBACK_LOG_LINES).join('\n');
  } catch {
    return '';
  }
}

/** The message for state.terminated.message, or undefined when there is none. */
export function terminationMessage(container: V1Container, hostPath: string, logPath: string, exitCode: number): string | undefined {
  let message = '';
  try {
    message = readFileSync(hostPath).subarray(0, MAX_MESSAGE_BYTES).toString('utf8');
  } catch {
    /* never created */
  }
  if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') message = logTail(logPath);
  return message || undefined;
}
