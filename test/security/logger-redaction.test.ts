// Secrets never reach a log line: by path, by configured value, and by shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyLines } from '../../src/jumphost/private-key-file.ts';
import { readEnv, secretValues } from '../../src/config/env.ts';
import { createLogger, scrubSecrets } from '../../src/logger.ts';

const BOT = 'xoxb-1111-2222-abcdefabcdef';
const SIGNING = 'f00dfeedf00dfeedf00dfeedf00dfeed';
const PRIVATE = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5\n-----END OPENSSH PRIVATE KEY-----\n';

function capture(secrets: string[] = [SIGNING]) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', secrets, destination: { write: (l: string) => void lines.push(l) } });
  return { logger, text: () => lines.join('') };
}

describe('logger redaction', () => {
  it('redacts secrets at known paths, including the bearer token inside a Web API error', () => {
    const { logger, text } = capture([]);
    const err = Object.assign(new Error('request failed'), {
      original: { config: { headers: { Authorization: `Bearer ${BOT}` } } },
      config: { headers: { Authorization: `Bearer ${BOT}` } },
    });
    logger.error({ err, token: 'abcdefabcdef1', env: { SLACK_SIGNING_SECRET: SIGNING }, headers: { 'x-slack-signature': 'v0=deadbeef' }, keyText: 'ssh-ed25519 AAAA' }, 'boom');
    const out = text();
    for (const s of [BOT, SIGNING, 'abcdefabcdef1', 'v0=deadbeef', 'ssh-ed25519 AAAA']) assert.ok(!out.includes(s), `${s} leaked: ${out}`);
    assert.match(out, /\[REDACTED\]/);
  });

  it('scrubs configured secrets anywhere, e.g. inside a message or a URL', () => {
    const { logger, text } = capture();
    logger.warn(`could not verify with ${SIGNING} at https://x/?s=${SIGNING}`);
    logger.info({ nested: { deeper: { value: SIGNING } } }, 'x');
    assert.ok(!text().includes(SIGNING));
  });

  it('scrubs anything shaped like a Slack token or a private key, configured or not', () => {
    const { logger, text } = capture([]);
    logger.info({ some: { field: `token=${BOT}` } }, `app token xapp-1-A0123-4567-abcdef and ${PRIVATE}`);
    logger.info({ body: PRIVATE.slice(0, 60) }, 'a truncated private key');
    logger.info({ body: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ' }, 'a bare private key body');
    const out = text();
    assert.ok(!out.includes(BOT) && !out.includes('xapp-1-A0123'), out);
    assert.ok(!out.includes('b3BlbnNzaC1rZXktdjEA'), out);
    assert.ok(!out.includes('PRIVATE KEY-----\\nb3'), out);
  });

  it('leaves ordinary text alone', () => {
    const plain = 'request rabc123 for db-prod-1 by U0ENG (SHA256:abc) ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI';
    assert.equal(scrubSecrets(plain, [SIGNING]), plain);
  });

  it('scrubs any single line of the broker\'s private key files, as npm start configures it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-keylines-'));
    try {
      for (const type of ['ed25519', 'rsa']) {
        const path = join(dir, `broker_${type}`);
        execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
        const body = readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
        assert.ok(body.length >= 3, 'a multi-line key body');
        const { logger, text } = capture(privateKeyLines(path));
        // a line from the middle of the key, alone: not shaped like a key, so only the configured secrets catch it
        for (const line of body.slice(1)) logger.warn({ detail: `stray ${line} text` }, `oops ${line}`);
        const out = text();
        for (const line of body.slice(1)) assert.ok(!out.includes(line), `${type} key line leaked`);
      }
      assert.deepEqual(privateKeyLines(join(dir, 'missing')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrubs the Redis passwords of REDIS_URL (server and Sentinel, decoded and as written), as npm start configures it', () => {
    const base = { SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SIGNING };
    for (const [url, passwords] of [
      ['redis://:s3cret%2Fredis%40pw@127.0.0.1:6390/0', ['s3cret/redis@pw', 's3cret%2Fredis%40pw']],
      ['redis://broker:plainRedisPassw0rd@10.0.0.9:6379', ['plainRedisPassw0rd']],
      ['redis+sentinel://:dataNodePassw0rd@10.0.0.1:26379,10.0.0.2/mymaster?sentinelPassword=sentinelPassw0rd', ['dataNodePassw0rd', 'sentinelPassw0rd']],
      ['redis+cluster://:clusterPassw0rd@10.0.0.1:7000', ['clusterPassw0rd']],
    ] as const) {
      const { logger, text } = capture(secretValues(readEnv({ ...base, REDIS_URL: url })));
      for (const pw of passwords) {
        logger.error({ err: new Error(`AUTH ${pw} failed`), options: { redisOptions: { pass: pw } } }, `connect to ${url} with ${pw}`);
        assert.ok(!text().includes(pw), `${url}: ${pw} leaked`);
      }
      assert.ok(!text().includes(SIGNING) && !text().includes(BOT));
    }
  });
});
