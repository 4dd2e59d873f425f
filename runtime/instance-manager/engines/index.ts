import { ConfigError } from '../../contracts/config-error.js';
import { ENGINE_NAMES } from '../../contracts/engines.js';
import type { Engine, EngineOptions } from '../engine.js';
import { createMysqlEngine } from './mysql/engine.js';

const FACTORIES: Readonly<Record<string, (options: EngineOptions) => Engine>> = { mysql: createMysqlEngine };

/** The engine SILO_IM_ENGINE names; every name in runtime/contracts/engines.ts has one here. */
export function createEngine(name: string, options: EngineOptions): Engine {
  const factory = Object.prototype.hasOwnProperty.call(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!factory)
    throw new ConfigError(
      `SILO_IM_ENGINE must be one of ${ENGINE_NAMES.join(', ')} (got ${JSON.stringify(name.slice(0, 40))}); leave it unset for mysql`,
    );
  return factory(options);
}
