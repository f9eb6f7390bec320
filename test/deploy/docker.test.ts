// The Docker recipe without Docker (none here): docker-compose.yml read as Compose reads it, the image's
// entrypoint run with sh against a temp dir (as root, as Compose starts it, and as the broker's user, as
// Kubernetes starts it), and what .dockerignore keeps out of the build context.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ENV_NAMES } from '../../src/config/env.ts';

const ENTRYPOINT = 'deploy/docker-entrypoint.sh';

interface ComposeService {
  user?: string;
  command?: string[];
  environment?: Record<string, string>;
  tmpfs?: string[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean; bind?: { create_host_path?: boolean } })[];
  secrets?: (string | { source: string; target?: string })[];
}

describe('docker-compose.yml', () => {
  // YAML 1.1, as Compose reads it.
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { version: '1.1' }) as {
    services: Record<string, ComposeService>;
    secrets: Record<string, { file: string }>;
  };
  const broker = compose.services.broker!;
  const env = broker.environment!;

  it('docker-compose.yml runs Redis with AOF and noeviction and gives the broker its secrets as files', () => {
    const redis = compose.services.redis!.command!.join(' ');
    assert.match(redis, /--appendonly yes/);
    assert.match(redis, /--maxmemory-policy noeviction/);
    assert.equal(env.REDIS_URL, 'redis://redis:6379');
    assert.deepEqual(Object.keys(compose.secrets).sort(), ['broker_ed25519', 'slack_bot_token', 'slack_signing_secret']);
    for (const [name, s] of Object.entries(compose.secrets)) assert.equal(s.file, `./secrets/${name}`);
    const mounted = broker.secrets!.map((s) => (typeof s === 'string' ? `/run/secrets/${s}` : (s.target ?? `/run/secrets/${s.source}`)));
    assert.deepEqual(mounted.sort(), Object.keys(compose.secrets).map((n) => `/run/secrets/${n}`).sort());
  });

  it('the broker reads private copies of its secrets: the entrypoint copies every secret (started as root) to a tmpfs', () => {
    assert.equal(broker.user, 'root', 'root only to copy the secrets; the entrypoint then runs the broker as node');
    const secretDir = '/run/jit-secrets';
    assert.ok(broker.tmpfs?.includes(secretDir), 'the copies live in memory');
    const copied = env.JIT_SECRET_FILES!.split(' ');
    assert.deepEqual(copied.sort(), Object.keys(compose.secrets).map((n) => `/run/secrets/${n}`).sort());
    for (const name of ['SLACK_BOT_TOKEN_FILE', 'SLACK_SIGNING_SECRET_FILE']) {
      const file = env[name]!;
      assert.ok(copied.some((c) => file === `${secretDir}/${c.split('/').pop()}`), `${name}=${file} names a copy`);
    }
    // The example policy, which the README says to copy to ./jit.config.yaml, names the copy of the key.
    const example = parse(readFileSync('jit.config.example.yaml', 'utf8')) as { jumpHosts: { privateKeyPath: string }[] };
    assert.equal(example.jumpHosts[0]!.privateKeyPath, `${secretDir}/broker_ed25519`);
  });

  it('every variable is one the broker or the entrypoint reads; the policy is one file that must exist on the host', () => {
    const script = readFileSync(ENTRYPOINT, 'utf8');
    const unknown = Object.keys(env).filter((name) => !ENV_NAMES.includes(name) && !script.includes(`\${${name}`));
    assert.deepEqual(unknown, []);
    const policy = broker.volumes!.find((v) => typeof v === 'object' && v.target === env.JIT_CONFIG);
    assert.ok(policy && typeof policy === 'object', `a long-syntax mount at JIT_CONFIG (${env.JIT_CONFIG})`);
    assert.equal(policy.type, 'bind');
    assert.equal(policy.source, './jit.config.yaml');
    assert.equal(policy.read_only, true);
    assert.equal(policy.bind?.create_host_path, false, 'a missing file is an error, not a directory Docker makes');
  });

  it('the image: the entrypoint in front of the broker, node as its user, the health check on /readyz', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    assert.match(dockerfile, /^COPY deploy\/docker-entrypoint\.sh \/usr\/local\/bin\/jit-entrypoint$/m);
    assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/local\/bin\/jit-entrypoint"\]$/m);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*\/readyz/m);
    // The compiled code, built from the src/ the image holds, and node as the process the entrypoint execs.
    assert.match(dockerfile, /^CMD \["node", (?:"--[a-z-]+=\d+", )*"dist\/main\.js", "start"\]$/m);
    assert.match(dockerfile, /^COPY src \.\/src\nRUN node scripts\/build\.mjs$/m);
    assert.ok(statSync(ENTRYPOINT).mode & 0o111, 'the script is executable (COPY keeps the mode)');
  });
});

/** Docker's rule: the last pattern that matches a path decides; `!` puts it back. */
function ignored(patterns: string[], path: string): boolean {
  let out = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, '');
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(path)) out = !negated;
  }
  return out;
}

describe('.dockerignore', () => {
  const patterns = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps secrets, node_modules, test artifacts and .git out of the build context, and not what the image copies', () => {
    for (const path of ['secrets/broker_ed25519', 'deploy/kubernetes/secrets/redis_url', 'node_modules/ssh2/package.json', 'test-artifacts/x.log', '.git/HEAD', 'jit.config.yaml'])
      assert.ok(ignored(patterns, path), `${path} reaches the build context`);
    const copied = [...readFileSync('Dockerfile', 'utf8').matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    assert.ok(copied.includes('src') && copied.includes('deploy/docker-entrypoint.sh'), copied.join(' '));
    for (const path of [...copied, 'src/main.ts', 'vendor/no-msgpackr-extract/package.json']) assert.ok(!ignored(patterns, path), `${path} is needed by the image`);
  });
});

const root = process.getuid?.() === 0;

describe('the image entrypoint (sh, against a temp dir)', { skip: root ? false : 'needs root: it changes owners and drops privileges' }, () => {
  let dir: string;
  let n = 0;
  // nobody stands in for the image's user node (not on this machine)
  const NOBODY = 65534;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-entrypoint-'));
    chmodSync(dir, 0o755); // nobody must reach the files
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale']); // dist/, which the image runs
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh case dir with a policy file and a root-owned 0600 key. */
  function setup() {
    const at = join(dir, String(++n));
    mkdirSync(at, { mode: 0o755 });
    chmodSync(at, 0o755);
    const config = join(at, 'jit.config.yaml');
    writeFileSync(config, 'privateKeyPath: /run/jit-secrets/broker_ed25519\n');
    const key = join(at, 'broker_ed25519');
    writeFileSync(key, 'KEY ONE\n', { mode: 0o600 });
    return { at, config, key, secretDir: join(at, 'jit-secrets') };
  }

  /** Runs the entrypoint with `command`; `asUser` first drops to that uid (as Kubernetes starts it). */
  function run(env: Record<string, string>, command: string[], asUser?: number) {
    const args = asUser === undefined ? ['sh', ENTRYPOINT, ...command] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', 'sh', ENTRYPOINT, ...command];
    const r = spawnSync(args[0]!, args.slice(1), { env: { PATH: process.env.PATH!, JIT_USER: 'nobody', ...env }, encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('started as root: copies a root-owned 0600 secret to the secret dir as the broker user, mode 0400, and runs the command as that user', () => {
    const { config, key, secretDir } = setup();
    const env = { JIT_CONFIG: config, JIT_SECRET_FILES: key, JIT_SECRET_DIR: secretDir };
    const r = run(env, ['sh', '-c', `id -u; id -G; cat ${secretDir}/broker_ed25519`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${NOBODY}\n${NOBODY}\nKEY ONE\n`, 'the command runs as nobody, with no other group, and reads its copy');
    const copy = statSync(join(secretDir, 'broker_ed25519'));
    assert.equal(copy.uid, NOBODY);
    assert.equal(copy.mode & 0o777, 0o400);
    const d = statSync(secretDir);
    assert.equal(d.uid, NOBODY);
    assert.equal(d.mode & 0o777, 0o700);
    assert.equal(statSync(key).mode & 0o777, 0o600, 'the source is left as it was');
    // A restart finds its old 0400 copy and replaces it.
    writeFileSync(key, 'KEY TWO\n');
    assert.equal(run(env, ['true']).code, 0);
    assert.equal(readFileSync(join(secretDir, 'broker_ed25519'), 'utf8'), 'KEY TWO\n');
    assert.equal(r.stderr, '', 'nothing to warn about');
  });

  it('started as the broker user (Kubernetes, fsGroup): copies a group-readable secret as itself, mode 0400; an unreadable one stops it with one line', () => {
    const { config, key, secretDir } = setup();
    chownSync(key, 0, NOBODY - 1); // nogroup, as kubelet's fsGroup makes it: root:<fsGroup> 0440
    chmodSync(key, 0o440);
    mkdirSync(secretDir, { mode: 0o777 });
    chmodSync(secretDir, 0o777);
    const env = { JIT_CONFIG: config, JIT_SECRET_FILES: key, JIT_SECRET_DIR: secretDir };
    const asNobody = (command: string[]) => {
      const args = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${NOBODY - 1}`, 'sh', ENTRYPOINT, ...command];
      const r = spawnSync(args[0]!, args.slice(1), { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const r = asNobody(['id', '-u']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${NOBODY}\n`);
    const copy = statSync(join(secretDir, 'broker_ed25519'));
    assert.equal(copy.uid, NOBODY);
    assert.equal(copy.mode & 0o777, 0o400);
    chmodSync(key, 0o400); // root's alone: what a pod without fsGroup gets
    const refused = run(env, ['touch', join(secretDir, 'ran')], NOBODY);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^jit-jump entrypoint: cannot read ${key} as uid ${NOBODY}: .*fsGroup`));
    assert.ok(!existsSync(join(secretDir, 'ran')), 'the command did not run');
  });

  it('a missing policy file, a directory Docker made in its place, or one the broker cannot read stops it with one line and runs nothing', () => {
    const { at, key, secretDir } = setup();
    const marker = join(at, 'ran');
    const cases = [
      [join(at, 'missing.yaml'), /^jit-jump entrypoint: the policy \S+missing\.yaml does not exist: create it on the host \(cp jit\.config\.example\.yaml jit\.config\.yaml\)/],
      [join(at, 'dir.yaml'), /^jit-jump entrypoint: the policy \S+dir\.yaml is a directory, not a file: Docker creates one when the host file is missing/],
    ] as const;
    mkdirSync(join(at, 'dir.yaml'));
    for (const [config, message] of cases) {
      const r = run({ JIT_CONFIG: config, JIT_SECRET_FILES: key, JIT_SECRET_DIR: secretDir }, ['touch', marker]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(marker), 'the command did not run');
    }
    // A policy the broker's user cannot read (a root 0600 file on the host).
    const secret = join(at, 'private.yaml');
    writeFileSync(secret, 'auditChannel: C0AUDIT\n', { mode: 0o600 });
    const unreadable = run({ JIT_CONFIG: secret }, ['touch', marker]);
    assert.equal(unreadable.code, 1);
    assert.equal(unreadable.stderr, `jit-jump entrypoint: the policy ${secret} cannot be read by uid ${NOBODY}: make it readable (chmod a+r on the host)\n`);
    assert.ok(!existsSync(marker), 'the command did not run');
    // --config in the command is the policy the broker will read: that one is checked.
    assert.equal(run({ JIT_CONFIG: join(at, 'missing.yaml') }, ['true', '--config', join(at, 'jit.config.yaml')]).code, 0);
    assert.equal(run({ JIT_CONFIG: join(at, 'missing.yaml') }, ['true', `--config=${join(at, 'jit.config.yaml')}`]).code, 0);
    assert.equal(run({ JIT_CONFIG: join(at, 'jit.config.yaml') }, ['true', '--config', join(at, 'missing.yaml')]).code, 1);
  });

  it('the broker itself (check-config, as the image runs it) accepts the copy of a key it refuses as mounted (0644)', () => {
    const { at, key, secretDir } = setup();
    rmSync(key);
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
    chmodSync(key, 0o644); // as a Compose secret often arrives: the host file's mode
    const policy = (keyPath: string) => {
      const path = join(at, `policy-${basename(keyPath)}-${keyPath.length}.yaml`);
      writeFileSync(
        path,
        stringify({
          auditChannel: 'C0AUDIT',
          jumpHosts: [{ name: 'bastion', address: '127.0.0.1', user: 'jump', hostKey: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', privateKeyPath: keyPath }],
          hosts: [{ name: 'db', address: '10.0.0.5', jumpHost: 'bastion', owners: ['U0ALICE'] }],
        }),
        { mode: 0o644 },
      );
      return path;
    };
    const checkConfig = ['node', 'dist/main.js', 'check-config', '--offline']; // as the image runs it
    // As mounted: refused as too open.
    const direct = run({ JIT_CONFIG: policy(key) }, checkConfig, NOBODY);
    assert.equal(direct.code, 1, direct.stdout);
    assert.match(direct.stdout, /^error\s+jumpHosts bastion: .*is readable by group or others \(mode 644\)/m);
    // Through the entrypoint, started as root: the copy is read and accepted.
    const copied = run({ JIT_CONFIG: policy(join(secretDir, 'broker_ed25519')), JIT_SECRET_FILES: key, JIT_SECRET_DIR: secretDir }, checkConfig);
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);
    assert.match(copied.stdout, /^ok\s+jumpHosts bastion: private key \S+broker_ed25519$/m);
  });

  it('a policy that names the mounted secret instead of the copy gets a warning naming the copy', () => {
    const { config, key, secretDir } = setup();
    writeFileSync(config, `privateKeyPath: ${key}\n`);
    const r = run({ JIT_CONFIG: config, JIT_SECRET_FILES: key, JIT_SECRET_DIR: secretDir }, ['true']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `jit-jump entrypoint: the policy names ${key}, the secret as mounted (with the host's owner and mode): name the broker's copy ${secretDir}/broker_ed25519\n`);
  });
});
