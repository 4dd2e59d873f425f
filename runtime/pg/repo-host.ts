/**
 * `silo pg repo-host`: the repo host of a PGCluster (seed 001's `repo-host`; decision 0271). It holds
 * the repositories: volume repositories on its PVCs, and every storage credential and cipher passphrase
 * (as PGBACKREST_REPOn_* variables from Secret references, read by pgBackRest itself, never logged). It
 * runs `pgbackrest server` on the pod IP (instances push WAL to it) and the agent (repo-agent.ts).
 */
import { chownSync, mkdirSync } from 'node:fs';
import type { Logger } from '../logging/logger.js';
import { PG_RUN_DIR, PG_VAR, REPO_AGENT_PORT, repoVolumeMount } from '../contracts/pg-pods.js';
import { podIp, pgbackrestServerArgs, pgbackrestServerEnv, writePgbackrestConf } from './pg-config-file.js';
import { postgresIds, spawnAsPostgres } from './pgbackrest-process.js';
import { RepoAgent, createRepoAgentServer } from './repo-agent.js';
import { superviseUntilExit } from './supervise.js';
import { copyTlsFiles, ownedDir } from './tls-files.js';

export async function runRepoHost(env: NodeJS.ProcessEnv, log: Logger): Promise<number> {
  const ip = podIp(env);
  ownedDir(PG_RUN_DIR);
  ownedDir(`${PG_RUN_DIR}/lock`);
  const tls = copyTlsFiles();
  writePgbackrestConf(env);
  const ids = postgresIds();
  for (const repo of JSON.parse(env[PG_VAR.volumeRepos] ?? '[]') as string[]) {
    mkdirSync(repoVolumeMount(repo), { recursive: true });
    if (ids) chownSync(repoVolumeMount(repo), ids.uid, ids.gid);
  }
  const server = spawnAsPostgres('pgbackrest', pgbackrestServerArgs(ip), {
    stdio: 'inherit',
    env: pgbackrestServerEnv(env, ownedDir(`${PG_RUN_DIR}/spool`)),
  });
  const agentServer = createRepoAgentServer(tls, new RepoAgent(log), log);
  await new Promise<void>((resolve) => agentServer.listen(REPO_AGENT_PORT, ip, resolve));
  log.info('repo host: pgbackrest server and agent started', { ip, agentPort: REPO_AGENT_PORT });
  return superviseUntilExit([{ name: 'pgbackrest server', child: server }], log, () => agentServer.close());
}
