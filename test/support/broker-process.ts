// A broker in a process of its own, for tests that kill -9 it, restart it and run several at once: environment
// and policy file exactly as in production, plus shortened timings from JIT_TEST_TUNING (JSON of BrokerTuning).
// SIGTERM stops it the way `jit-jump start` does.
import { startBroker, type BrokerTuning } from '../../src/broker.ts';
import { readEnv } from '../../src/config/env.ts';
import { loadPolicy } from '../../src/config/policy.ts';
import { createLogger } from '../../src/logger.ts';

const env = readEnv(process.env);
const logger = createLogger({ level: env.LOG_LEVEL, secrets: [env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET] });
const tuning = JSON.parse(process.env.JIT_TEST_TUNING ?? '{}') as BrokerTuning;
// policyPath as `jit-jump start` gives it: a change of the file reloads the policy.
const broker = await startBroker({ env, policy: loadPolicy(env.JIT_CONFIG), policyPath: env.JIT_CONFIG, logger, host: '127.0.0.1', tuning });
process.once('SIGTERM', () => {
  broker.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
