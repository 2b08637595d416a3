// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';

/**
 * The engine owns the provider interface and is used by the CLI: it imports no provider (the composition root hands
 * it a ProviderFactory), nothing of the CLI or the server, and of the store only what it works through today (the
 * store, its errors, and the clusters, events and runs repositories).
 */
const ENGINE_RESTRICTED_IMPORTS = [
  { group: ['**/providers/**', '**/providers'], message: 'The engine imports no provider: it takes a ProviderFactory (engine/provider-factory.ts).' },
  { group: ['**/cli/**', '**/server/**'], message: 'The CLI and the server use the engine, not the other way.' },
  {
    group: ['**/persistence/database*', '**/persistence/migrations*', '**/persistence/*-repo.ts', '!**/persistence/clusters-repo.ts', '!**/persistence/events-repo.ts', '!**/persistence/runs-repo.ts'],
    message: 'The engine works through the store (persistence/store.ts) and its repositories, not the database.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.cache/**', 'coverage/**', '**/*.mjs', 'eslint.config.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'No enum: use a string-literal union or an as-const object.' },
        { selector: 'ExportAllDeclaration', message: 'No export *: name what a module exports.' },
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only.' },
      ],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // kube-sim is a separate program: it must not reach into kup. It may import only itself and the two folders
    // both programs share: src/k8s (Kubernetes semantics) and src/clock. Paths, not folder names: a new kup folder
    // is forbidden without anyone remembering to list it.
    files: ['src/kube-sim/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/kube-sim',
              from: './src',
              except: ['./kube-sim', './k8s', './clock'],
              message: 'kube-sim imports nothing from kup: only src/kube-sim, src/k8s and src/clock.',
            },
          ],
        },
      ],
    },
  },
  {
    // src/k8s is Kubernetes semantics shared by kup and kube-sim: pure, standard library only. The zone covers
    // node_modules too, so a package import is refused like a kup one; node: built-ins resolve nowhere and pass.
    files: ['src/k8s/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/k8s', from: './', except: ['./src/k8s'], message: 'src/k8s imports nothing outside src/k8s (standard library only).' },
          ],
        },
      ],
    },
  },
  {
    // src/clock is shared by kup and kube-sim like src/k8s: it imports nothing outside itself.
    files: ['src/clock/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        { zones: [{ target: './src/clock', from: './', except: ['./src/clock'], message: 'src/clock imports nothing outside src/clock (standard library only).' }] },
      ],
    },
  },
  {
    // The pure domain (versions, plans and the run state machine, the check rules) knows nothing of I/O, HTTP, SQL,
    // the engine or providers: it is a function of its inputs. Kubernetes objects come as client-node's typed models,
    // so type imports of client-node are allowed; its runtime (a client) is not.
    files: ['src/versions/**/*.ts', 'src/rollout/**/*.ts', 'src/checks/rules/**/*.ts', 'src/maintenance/**/*.ts', 'src/fleet-rollouts/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@kubernetes/client-node'], allowTypeImports: true, message: 'Domain code stays pure: type imports of the Kubernetes models only.' },
            {
              group: ['node:fs', 'node:fs/*', 'node:http', 'node:https', 'node:http2', 'node:net', 'node:tls', 'node:dgram', 'node:child_process', 'node:worker_threads', 'node:os', 'node:process'],
              message: 'Domain code stays pure: no I/O.',
            },
            {
              group: ['**/kube-sim/**', '**/kube-api/**', '**/persistence/**', '**/engine/**', '**/providers/**', '**/cli/**', '**/catalog/**', '**/clusters/**'],
              message: 'Domain code stays pure: no cluster client, store, engine, provider or command line.',
            },
          ],
        },
      ],
    },
  },
  {
    // The engine's boundary (ENGINE_RESTRICTED_IMPORTS) holds for its tests too.
    files: ['src/engine/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: ENGINE_RESTRICTED_IMPORTS }],
    },
  },
  {
    // Nor does the engine's own code reach kube-sim in-process: clusters are reached over HTTP (its tests may start one).
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...ENGINE_RESTRICTED_IMPORTS,
            { group: ['**/kube-sim/**'], message: 'The engine reaches clusters over HTTP only, never kube-sim in-process.' },
          ],
        },
      ],
    },
  },
  {
    // The web console runs in a browser: it talks to kup only through the HTTP API, never by importing kup's code.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'import-x/no-restricted-paths': [
        'error',
        { zones: [{ target: './console', from: './src', message: 'The console reaches kup over its HTTP API only.' }] },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
