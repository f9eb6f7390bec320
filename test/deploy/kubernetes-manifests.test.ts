// deploy/kubernetes without a cluster: every object `kubectl apply -k` would send (HTTP mode, and with the
// socket-mode component) passes a strict schema check of the Kubernetes 1.30 API types (vendored, see
// vendor/kubernetes-json-schema), and the parts agree with each other and with the broker: the probes ask the
// endpoints on the port the broker listens on, every variable is one the broker or the entrypoint reads, every
// *_FILE and the policy's key path land in a mounted volume, the broker reads its environment and policy from
// those files as they would be in the pod, labels and selectors match, three replicas, a disruption budget.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';

import { ENV_NAMES, readEnv } from '../../src/config/env.ts';
import { loadPolicy } from '../../src/config/policy.ts';
import { parseRedisUrl } from '../../src/store/redis-connection.ts';
import { buildKustomization, type K8sObject } from '../support/kustomize-build.ts';

const SCHEMA = JSON.parse(readFileSync('vendor/kubernetes-json-schema/kubernetes-1.30.schema.json', 'utf8')) as {
  definitions: Record<string, { properties: { apiVersion: { const: string } } }>;
};

interface EnvVar { name: string; value?: string; valueFrom?: unknown }
interface Probe { httpGet?: { path: string; port: number | string } }
interface Container {
  name: string;
  image: string;
  ports: { name?: string; containerPort: number }[];
  env: EnvVar[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; defaultMode?: number };
  emptyDir?: { medium?: string };
}
interface PodSpec {
  containers: Container[];
  volumes: Volume[];
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  topologySpreadConstraints?: { labelSelector: { matchLabels: Record<string, string> } }[];
}
interface Deployment extends K8sObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

/** A validator per kind, from the vendored definitions (strict: unknown fields fail). */
function validators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(SCHEMA, 'k8s');
  return new Map(['Deployment', 'Service', 'PodDisruptionBudget', 'ConfigMap', 'Secret'].map((kind) => [kind, ajv.getSchema(`k8s#/definitions/${kind}`)!]));
}

/** Why each object fails the schema, as "Kind name: /path message" (none: all pass). */
function schemaProblems(objects: K8sObject[], check = validators()): string[] {
  return objects.flatMap((o) => {
    const validate = check.get(o.kind);
    if (!validate) return [`${o.kind} ${o.metadata?.name}: a kind the schema does not cover`];
    const wanted = SCHEMA.definitions[o.kind]!.properties.apiVersion.const;
    const version = o.apiVersion === wanted ? [] : [`${o.kind} ${o.metadata.name}: apiVersion ${o.apiVersion}, not ${wanted}`];
    const valid: boolean = validate(o); // not as a type guard: o stays a K8sObject
    return valid ? version : [...version, ...validate.errors!.map((e) => `${o.kind} ${o.metadata.name}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)];
  });
}

const ofKind = <T extends K8sObject>(objects: K8sObject[], kind: string): T[] => objects.filter((o) => o.kind === kind) as T[];
const containsLabels = (labels: Record<string, string>, selector: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const envOf = (c: Container) => new Map(c.env.map((e) => [e.name, e.value]));

/** The port a probe or Service names (a number, or a container port's name), as a number. */
function portNumber(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const found = c.ports.find((p) => p.name === port);
  assert.ok(found, `no container port named ${port}`);
  return found.containerPort;
}

/**
 * The container's files as the pod would have them, under `root`: each ConfigMap and Secret volume's keys at its
 * mountPath, each emptyDir as a directory. Returns the container's environment with every value that is a path
 * under a mount rewritten to its place under root, and the paths that lie in no mount.
 */
function podFilesystem(objects: K8sObject[], spec: PodSpec, root: string): { env: Record<string, string>; unmounted: string[] } {
  const c = spec.containers[0]!;
  for (const m of c.volumeMounts) {
    const volume = spec.volumes.find((v) => v.name === m.name);
    assert.ok(volume, `volumeMount ${m.name} has no volume`);
    const dir = join(root, m.mountPath);
    mkdirSync(dir, { recursive: true });
    const source = volume.configMap
      ? ofKind(objects, 'ConfigMap').find((o) => o.metadata.name === volume.configMap!.name)
      : volume.secret
        ? ofKind(objects, 'Secret').find((o) => o.metadata.name === volume.secret!.secretName)
        : undefined;
    if (!volume.emptyDir) assert.ok(source, `volume ${volume.name} names ${volume.configMap?.name ?? volume.secret?.secretName}, which the kustomization does not make`);
    for (const [key, value] of Object.entries((source?.data ?? {}) as Record<string, string>))
      writeFileSync(join(dir, key), volume.secret ? Buffer.from(value, 'base64') : value);
  }
  const mounts = c.volumeMounts.map((m) => m.mountPath);
  const env: Record<string, string> = {};
  const unmounted: string[] = [];
  for (const { name, value } of c.env) {
    if (value === undefined) continue;
    const paths = value.split(' ').filter((v) => v.startsWith('/'));
    for (const p of paths) if (!mounts.some((m) => p === m || p.startsWith(`${m}/`))) unmounted.push(`${name}=${p}`);
    env[name] = paths.length ? value.split(' ').map((v) => (v.startsWith('/') ? join(root, v) : v)).join(' ') : value;
  }
  return { env, unmounted };
}

/**
 * A copy of deploy/kubernetes as an operator fills it in: the secret files in secrets/ (the examples, test
 * tokens) and the jump server's host key fingerprint in place of the placeholder.
 */
function filledIn(dir: string): string {
  const copy = join(dir, 'kubernetes');
  cpSync('deploy/kubernetes', copy, { recursive: true });
  const policy = join(copy, 'jit.config.yaml');
  const placeholder = /"SHA256:REPLACE_WITH[^"]*"/;
  assert.match(readFileSync(policy, 'utf8'), placeholder);
  writeFileSync(policy, readFileSync(policy, 'utf8').replace(placeholder, `"SHA256:${'A'.repeat(43)}"`));
  const secrets = join(copy, 'secrets');
  writeFileSync(join(secrets, 'slack_bot_token'), 'xoxb-test-token\n');
  writeFileSync(join(secrets, 'slack_signing_secret'), 'test-signing-secret\n');
  cpSync(join(secrets, 'redis_url.example'), join(secrets, 'redis_url'));
  writeFileSync(join(secrets, 'broker_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n');
  cpSync(join(copy, 'socket-mode/secrets/slack_app_token.example'), join(copy, 'socket-mode/secrets/slack_app_token'));
  return copy;
}

/** The variables the image's entrypoint reads (deploy/docker-entrypoint.sh), besides the broker's. */
function entrypointVariables(): string[] {
  const script = readFileSync('deploy/docker-entrypoint.sh', 'utf8');
  return [...new Set([...script.matchAll(/\$\{(JIT_[A-Z_]+)[:}]/g)].map((m) => m[1]!))];
}

describe('deploy/kubernetes', () => {
  let dir: string;
  let base: string;
  let http: K8sObject[];
  let socket: K8sObject[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-k8s-'));
    base = filledIn(dir);
    http = buildKustomization(base);
    socket = buildKustomization(base, { components: ['socket-mode'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const deploymentOf = (objects: K8sObject[]) => {
    const [d, ...more] = ofKind<Deployment>(objects, 'Deployment');
    assert.ok(d && more.length === 0, 'one Deployment');
    return d;
  };

  it('the schema check catches an unknown field, a wrong type, a missing required field and a wrong apiVersion', () => {
    const d = structuredClone(deploymentOf(http));
    const c = d.spec.template.spec.containers[0]! as unknown as Record<string, unknown>;
    c.readinesProbe = c.readinessProbe;
    (d.spec as Record<string, unknown>).replicas = '3';
    delete c.name;
    const problems = schemaProblems([d, { ...deploymentOf(http), apiVersion: 'apps/v1beta1' }]);
    assert.ok(problems.some((p) => /readinesProbe/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/spec/replicas must be number')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes("must have required property 'name'")), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('apiVersion apps/v1beta1, not apps/v1')), problems.join('\n'));
  });

  it('every object passes the Kubernetes 1.30 schema, in HTTP mode and with the socket-mode component', () => {
    assert.deepEqual(http.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service']);
    assert.deepEqual(socket.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Secret'], 'Socket Mode: no Service');
    assert.deepEqual(schemaProblems(http), []);
    assert.deepEqual(schemaProblems(socket), []);
  });

  it('three replicas, selectors that match the pods, a disruption budget that keeps two', () => {
    const d = deploymentOf(http);
    const pods = d.spec.template.metadata.labels;
    assert.equal(d.spec.replicas, 3);
    assert.ok(containsLabels(pods, d.spec.selector.matchLabels), 'Deployment selector');
    for (const t of d.spec.template.spec.topologySpreadConstraints ?? []) assert.ok(containsLabels(pods, t.labelSelector.matchLabels), 'topology spread');
    const [service] = ofKind<K8sObject & { spec: { selector: Record<string, string> } }>(http, 'Service');
    assert.ok(containsLabels(pods, service!.spec.selector), 'Service selector');
    const [pdb] = ofKind<K8sObject & { spec: { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } }>(http, 'PodDisruptionBudget');
    assert.ok(containsLabels(pods, pdb!.spec.selector.matchLabels), 'PodDisruptionBudget selector');
    assert.ok(pdb!.spec.minAvailable === 2 || pdb!.spec.maxUnavailable === 1, JSON.stringify(pdb!.spec));
  });

  it('the probes ask /readyz and /healthz on the port the broker listens on (PORT; HEALTH_PORT in Socket Mode), and the Service sends Slack there', () => {
    for (const [mode, objects, variable] of [['http', http, 'PORT'], ['socket', socket, 'HEALTH_PORT']] as const) {
      const c = deploymentOf(objects).spec.template.spec.containers[0]!;
      const listens = Number(envOf(c).get(variable) ?? 3000);
      assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', mode);
      assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', mode);
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter((p) => p !== undefined))
        assert.equal(portNumber(c, probe.httpGet!.port), listens, `${mode}: a probe's port`);
      const annotations = deploymentOf(objects).spec.template.metadata.annotations ?? {};
      if (annotations['prometheus.io/port']) assert.equal(Number(annotations['prometheus.io/port']), listens);
      if (annotations['prometheus.io/path']) assert.equal(annotations['prometheus.io/path'], '/metrics');
    }
    const c = deploymentOf(http).spec.template.spec.containers[0]!;
    const [service] = ofKind<K8sObject & { spec: { ports: { targetPort: number | string }[] } }>(http, 'Service');
    assert.equal(portNumber(c, service!.spec.ports[0]!.targetPort), Number(envOf(c).get('PORT')));
    assert.ok(envOf(deploymentOf(socket).spec.template.spec.containers[0]!).has('SLACK_APP_TOKEN_FILE'), 'Socket Mode sets the app token');
  });

  it('every variable is one the broker (src/config/env.ts) or the entrypoint reads, and secrets come only as *_FILE', () => {
    const known = new Set([...ENV_NAMES, ...entrypointVariables()]);
    assert.ok(known.has('JIT_SECRET_FILES') && known.has('REDIS_URL_FILE'), [...known].join(' '));
    for (const objects of [http, socket]) {
      const c = deploymentOf(objects).spec.template.spec.containers[0]!;
      assert.deepEqual(c.env.map((e) => e.name).filter((n) => !known.has(n)), []);
      for (const secret of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'REDIS_URL']) assert.ok(!envOf(c).has(secret), `${secret} given as a value`);
      assert.ok(c.env.every((e) => e.valueFrom === undefined), 'no secret through valueFrom');
    }
  });

  it('in the pod as mounted, the broker reads its environment (a Sentinel set) and policy, and the policy names the private copy of the key', () => {
    for (const [mode, objects] of [['http', http], ['socket', socket]] as const) {
      const spec = deploymentOf(objects).spec.template.spec;
      const root = join(dir, `pod-${mode}`);
      const { env, unmounted } = podFilesystem(objects, spec, root);
      assert.deepEqual(unmounted, [], `${mode}: paths in no mounted volume`);
      const read = readEnv(env);
      assert.equal(read.SLACK_BOT_TOKEN, 'xoxb-test-token');
      assert.equal(parseRedisUrl(read.REDIS_URL).kind, 'sentinel');
      assert.equal(read.SLACK_APP_TOKEN !== undefined, mode === 'socket');
      const policy = loadPolicy(read.JIT_CONFIG);
      // The policy names the copy the entrypoint makes in JIT_SECRET_DIR (in memory) of a file it copies.
      const c = spec.containers[0]!;
      const secretDir = envOf(c).get('JIT_SECRET_DIR')!;
      const copied = envOf(c).get('JIT_SECRET_FILES')!.split(' ');
      const memory = spec.volumes.find((v) => v.name === c.volumeMounts.find((m) => m.mountPath === secretDir)?.name);
      assert.equal(memory?.emptyDir?.medium, 'Memory', 'JIT_SECRET_DIR is an in-memory emptyDir');
      for (const jump of policy.jumpHosts) assert.ok(copied.some((f) => jump.privateKeyPath === `${secretDir}/${basename(f)}`), `${jump.name}: ${jump.privateKeyPath}`);
      assert.match(readFileSync(join(root, copied[0]!), 'utf8'), /BEGIN OPENSSH PRIVATE KEY/, 'the key file is in its Secret volume');
      assert.equal(dirname(read.JIT_CONFIG), join(root, '/etc/jit-jump/policy'));
    }
  });

  it('runs as the image user, not root; the key Secret is mode 0400; the root filesystem is read-only with /tmp writable', () => {
    assert.match(readFileSync('Dockerfile', 'utf8'), /^USER node$/m, 'the image runs as node (uid 1000 in node images)');
    const spec = deploymentOf(http).spec.template.spec;
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.equal(spec.securityContext.runAsUser, 1000);
    assert.equal(typeof spec.securityContext.fsGroup, 'number', 'fsGroup: the broker can read the secret files');
    const c = spec.containers[0]!;
    const keyFile = envOf(c).get('JIT_SECRET_FILES')!.split(' ')[0]!;
    const keyMount = c.volumeMounts.find((m) => keyFile.startsWith(`${m.mountPath}/`))!;
    assert.equal(spec.volumes.find((v) => v.name === keyMount.name)?.secret?.defaultMode, 0o400);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.ok(c.volumeMounts.some((m) => m.mountPath === '/tmp' && !m.readOnly), 'tsx writes its cache to /tmp');
  });

});
