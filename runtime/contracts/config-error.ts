/**
 * A setting a process cannot run with: a missing or invalid variable, flag or file. Every process
 * (workers, instance manager, controller) throws it with one sentence naming the setting and the fix;
 * a worker exits with the `config` code (runtime/contracts/worker-result.ts).
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
