// npm run stack -- install|up|down|status|env [component…]
// Logs go to stderr so that `eval "$(npm run --silent stack -- env)"` sees only export lines.
import { createContext } from './context.js';
import { downAll, envLines, installAll, resolveOrder, upAll } from './orchestrate.js';
import { registry } from './registry.js';

const usage = `usage: npm run stack -- <install|up|down|status|env> [component…]
components: ${[...registry.keys()].join(', ')} (none named = all)
env: SILO_STACK_ROOT (default /tmp/silo-stack), SILO_CACHE_DIR (default ~/.cache/silo)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...names] = argv;
  const ctx = createContext({ quiet: command === 'env' });
  switch (command) {
    case 'install':
      await installAll(ctx, names);
      return 0;
    case 'up': {
      const started = await upAll(ctx, names);
      ctx.log(
        `up: ${resolveOrder(names)
          .map((c) => c.name)
          .join(', ')} (started now: ${started.join(', ') || 'none'})`,
      );
      ctx.log(`eval "$(npm run --silent stack -- env${names.length ? ' ' + names.join(' ') : ''})" to use them`);
      return 0;
    }
    case 'down':
      await downAll(ctx, names);
      return 0;
    case 'status': {
      let allUp = true;
      for (const c of resolveOrder(names)) {
        const up = await c.status(ctx).catch(() => false);
        allUp &&= up;
        process.stdout.write(`${c.name.padEnd(10)} ${up ? 'up' : 'down'}\n`);
      }
      // Non-zero when something is down, so scripts can `stack status || stack up`.
      return allUp ? 0 : 3;
    }
    case 'env':
      process.stdout.write(envLines(ctx, names).join('\n') + '\n');
      return 0;
    default:
      process.stderr.write(`${usage}\n`);
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`stack: ${err.message}\n`);
    process.exit(1);
  },
);
