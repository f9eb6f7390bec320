// What `kubectl apply -k` would send, built without kubectl (none on a fresh machine): just the kustomize
// features deploy/kubernetes uses (resources, ConfigMap/Secret generators, components with a merged secret, a
// delete patch and JSON 6902 `add` patches, labels, images), failing loudly on anything else so that a new
// feature is not silently skipped. Generated names carry no content hash here (kustomize adds one).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

interface Generator {
  name: string;
  files: string[];
  behavior?: 'create' | 'merge';
  options?: { disableNameSuffixHash?: boolean };
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  components?: string[];
  labels?: { pairs: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  configMapGenerator?: Generator[];
  secretGenerator?: Generator[];
  patches?: { patch: string; target?: { kind: string; name: string } }[];
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'components', 'labels', 'images', 'configMapGenerator', 'secretGenerator', 'patches']);

/** YAML 1.1, as kubectl reads it: `0400` is octal. */
function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8'), { version: '1.1' }) as T;
}

function readKustomization(dir: string): Kustomization {
  const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
  const unknown = Object.keys(k).filter((key) => !KNOWN.has(key));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: the test's builder does not know ${unknown.join(', ')}`);
  return k;
}

function generated(dir: string, kind: 'ConfigMap' | 'Secret', gen: Generator): K8sObject {
  const data = Object.fromEntries(
    gen.files.map((f) => {
      const content = readFileSync(join(dir, f));
      return [basename(f), kind === 'Secret' ? content.toString('base64') : content.toString('utf8')];
    }),
  );
  return { apiVersion: 'v1', kind, metadata: { name: gen.name }, ...(kind === 'Secret' ? { type: 'Opaque' } : {}), data };
}

function generate(dir: string, k: Kustomization, objects: K8sObject[]): void {
  for (const [kind, gens] of [['ConfigMap', k.configMapGenerator ?? []], ['Secret', k.secretGenerator ?? []]] as const) {
    for (const gen of gens) {
      const made = generated(dir, kind, gen);
      if (gen.behavior !== 'merge') {
        objects.push(made);
        continue;
      }
      const base = objects.find((o) => o.kind === kind && o.metadata.name === gen.name);
      if (!base) throw new Error(`${dir}: merges into ${kind} ${gen.name}, which the base does not generate`);
      Object.assign(base.data as object, made.data);
    }
  }
}

/** A JSON 6902 `add` (the only op used): `-` appends to an array. */
function addAt(object: unknown, path: string, value: unknown): void {
  const steps = path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = steps.pop()!;
  let node = object as Record<string, unknown>;
  for (const step of steps) {
    node = node[step] as Record<string, unknown>;
    if (node === undefined) throw new Error(`patch path ${path}: nothing at ${step}`);
  }
  if (Array.isArray(node) && last === '-') node.push(value);
  else if (Array.isArray(node)) node.splice(Number(last), 0, value);
  else node[last] = value;
}

function applyPatches(dir: string, k: Kustomization, objects: K8sObject[]): K8sObject[] {
  let out = objects;
  for (const { patch, target } of k.patches ?? []) {
    const doc = parse(patch, { version: '1.1' }) as Record<string, unknown> | { op: string; path: string; value: unknown }[];
    if (!Array.isArray(doc) && doc.$patch === 'delete') {
      const { kind, metadata } = doc as unknown as K8sObject;
      const before = out.length;
      out = out.filter((o) => !(o.kind === kind && o.metadata.name === metadata.name));
      if (out.length === before) throw new Error(`${dir}: deletes ${kind} ${metadata.name}, which is not there`);
    } else if (Array.isArray(doc) && target) {
      const hits = out.filter((o) => o.kind === target.kind && o.metadata.name === target.name);
      if (hits.length !== 1) throw new Error(`${dir}: a patch targets ${target.kind} ${target.name}: ${hits.length} found`);
      for (const op of doc) {
        if (op.op !== 'add') throw new Error(`${dir}: the test's builder applies only "add" ops, not ${op.op}`);
        addAt(hits[0], op.path, op.value);
      }
    } else throw new Error(`${dir}: a patch the test's builder does not know: ${patch}`);
  }
  return out;
}

function setImages(k: Kustomization, objects: K8sObject[]): void {
  for (const o of objects) {
    const spec = (o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec;
    for (const c of spec?.containers ?? []) {
      const image = k.images?.find((i) => i.name === c.image);
      if (image) c.image = `${image.newName ?? image.name}${image.newTag ? `:${image.newTag}` : ''}`;
    }
  }
}

/** The objects of the kustomization in `dir`, with `components` switched on as if listed in it. */
export function buildKustomization(dir: string, opts: { components?: string[] } = {}): K8sObject[] {
  const k = readKustomization(dir);
  let objects: K8sObject[] = (k.resources ?? []).flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { version: '1.1' }).map((d) => d.toJS() as K8sObject),
  );
  generate(dir, k, objects);
  for (const component of [...(k.components ?? []), ...(opts.components ?? [])]) {
    const c = readKustomization(join(dir, component));
    if (c.kind !== 'Component') throw new Error(`${component}: not a kustomize Component`);
    generate(join(dir, component), c, objects);
    objects = applyPatches(join(dir, component), c, objects);
  }
  objects = applyPatches(dir, k, objects);
  for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...Object.assign({}, ...(k.labels ?? []).map((l) => l.pairs)) };
  setImages(k, objects);
  return objects;
}
