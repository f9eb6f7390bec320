// How src/ is built (issue #10): checked by test/architecture/import-graph.test.ts; for a report, run
// `npx depcruise src`. Type-only imports count: a type is a dependency too.
/** Node modules that reach outside the process (files, network, processes, the terminal…). */
const IO_MODULES = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|dns|dns/promises|tls|cluster|worker_threads|readline|os|inspector|vm|module)$';

/** folder of src/ → the other folders of src/ it may import, and why */
const LAYERS = [
  ['domain', [], 'src/domain/ is the core: it imports no other folder of src/ (adapters depend on it, never the reverse)'],
  ['service', ['domain'], 'the use cases reach the outside world through ports they declare (src/service/ports.ts)'],
  ['audit', ['domain', 'store'], 'the audit trail reads the store (its stream); the forwarder posts through a port it declares (AuditPoster), Slack implements it'],
  ['observability', [], 'metrics and health endpoints know nothing of src/: the parts report through its Observer interface, the composition root passes readers in'],
  ['store', ['domain'], 'the store is an adapter below the others: it knows the domain and nothing else of src/'],
];

module.exports = {
  forbidden: [
    ...LAYERS.map(([folder, allowed, why]) => ({
      name: `${folder}-imports-only-${allowed.join('-and-') || folder}`,
      comment: why,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: `^src/(${[...allowed, folder].join('|')})/` },
    })),
    {
      name: 'domain-does-no-io',
      comment: 'src/domain/ is pure: no file, network or process I/O (pure libraries such as sshpk are fine)',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'], path: IO_MODULES },
    },
    {
      name: 'no-folder-cycles',
      comment: 'folders of src/ form layers: no folder depends on itself through another',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-imports',
      comment: 'no file depends on itself through others',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|test|bench|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
