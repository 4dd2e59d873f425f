/**
 * The contract every local-stack component implements. The CLI
 * (`npm run stack -- up|down|status|env [component…]`) and the mocha root
 * hooks both drive components only through this interface.
 */
export interface StackContext {
  /** Root of all runtime state (data dirs, pid files, logs). Default /tmp/silo-stack, override SILO_STACK_ROOT. */
  root: string;
  /** Cache for built binaries, outside the clone so CI warm runs stay warm. Default ~/.cache/silo, override SILO_CACHE_DIR. */
  cacheDir: string;
  /** Where each server's log file goes; kept after a failed run. */
  logDir: string;
  /** True under CI=true: a component that cannot start is a hard failure. */
  ci: boolean;
  log(message: string): void;
}

export interface Component {
  name: string;
  /** Components that must be up first. */
  dependsOn?: string[];
  /** Install or build whatever is missing; idempotent and cached. */
  install(ctx: StackContext): Promise<void>;
  /** Start, health-check, record PIDs under ctx.root. Resolves only when healthy. */
  up(ctx: StackContext): Promise<void>;
  /** Stop what up() started, by recorded PID. */
  down(ctx: StackContext): Promise<void>;
  /** Whether this component is running and healthy. */
  status(ctx: StackContext): Promise<boolean>;
  /** Variables a client needs (endpoints, credentials, KUBECONFIG), printed by `stack env`. */
  env(ctx: StackContext): Record<string, string>;
}
