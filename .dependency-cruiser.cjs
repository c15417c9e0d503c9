/**
 * The layers of src/, lowest first: a module may import its own folder and the folders below it,
 * never one above (type-only imports included), so no two folders form a cycle. The client sits
 * beside the CLI and shares only the protocol, the location module, the transport and the root
 * helpers with the server side. docs/architecture.md draws the same order.
 */
const LAYERS = [
  ['core', '^src/(errors|events|redact|bounded|paths|colors|node-version)\\.ts$'],
  ['protocol', '^src/protocol/'],
  ['location', '^src/location/'],
  ['process', '^src/process/'],
  ['transport', '^src/transport/'],
  ['pod', '^src/pod/'],
  ['recipes', '^src/recipes/'],
  ['env', '^src/env/'],
  ['launch', '^src/launch/'],
  ['manager', '^src/manager/'],
  ['install', '^src/install/'],
  ['control', '^src/control/'],
  ['http', '^src/http/'],
  ['daemon', '^src/daemon/'],
  ['client', '^src/client/'],
  ['cli', '^src/cli/'],
  ['index', '^src/index\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], index) => ({
  name: `${name}-imports-no-layer-above`,
  comment: `${name} may import only ${LAYERS.slice(0, index + 1)
    .map(([below]) => below)
    .join(', ')}`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(index + 1).map(([, above]) => above) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'client-shares-only-protocol-and-location',
      comment: 'The client is a separate product: it shares only protocol, location, transport and the root helpers.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: ['^src/client/', ...LAYERS.filter(([n]) => ['core', 'protocol', 'location', 'transport'].includes(n)).map(([, p]) => p)] },
    },
    {
      name: 'no-runtime-module-cycle',
      comment: 'Inside a folder, modules may name each other in types (a pod and its events), not at run time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-unresolvable-import',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
