// Every line of a piece of work names it (request, job, jump server), and logs read as JSON or, on a terminal, as text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, withLogFields, withOnlyLogFields } from '../../src/logger.ts';

function capture(pretty?: boolean) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', pretty, destination: { write: (l: string) => void lines.push(l) } });
  return { logger, lines };
}

describe('log fields of the work in progress', () => {
  it('are on every line written inside the work, awaited work included; nested fields add up; explicit fields win', async () => {
    const { logger, lines } = capture();
    await withLogFields({ slackUser: 'U1' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      await withLogFields({ requestId: 'rabc' }, async () => {
        await Promise.resolve();
        logger.info('inside');
        logger.info({ requestId: 'rother' }, 'explicit');
      });
      logger.info('outer');
    });
    logger.info('outside');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(parsed.map((l) => [l.msg, l.slackUser, l.requestId]), [
      ['inside', 'U1', 'rabc'],
      ['explicit', 'U1', 'rother'],
      ['outer', 'U1', undefined],
      ['outside', undefined, undefined],
    ]);
  });

  it('withOnlyLogFields drops the caller’s fields: a sync shared by many requests names none of them', () => {
    const { logger, lines } = capture();
    withLogFields({ requestId: 'rabc' }, () => withOnlyLogFields({ jumpHost: 'bastion' }, () => logger.info('synced')));
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.jumpHost, 'bastion');
    assert.equal(line.requestId, undefined);
  });
});
