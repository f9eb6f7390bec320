// The end-to-end tests' installation is the sandbox's: same processes, same policy, driven by tests.
import { startEnvironment, type Environment, type EnvironmentOptions } from '../../src/sandbox/environment.ts';

export * from '../../src/sandbox/environment.ts';
export type World = Environment;

export function startWorld(opts: EnvironmentOptions = {}): Promise<World> {
  return startEnvironment({ ...opts, logSink: process.env.JIT_TEST_LOGS ? (l) => process.stderr.write(l) : undefined });
}
