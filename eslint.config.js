// @ts-check
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '**/*.mjs', 'eslint.config.js'] },
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
    // kube-sim is a separate program: it must not reach into kup's engine or domain. It may import only the shared
    // folders that hold no kup concept (the clock, Kubernetes rules): an allow-list, so a new kup folder is covered.
    files: ['src/kube-sim/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src/kube-sim',
              from: './src',
              except: ['./kube-sim', './clock', './k8s'],
              message: 'kube-sim imports nothing from kup but src/clock and src/k8s.',
            },
          ],
        },
      ],
    },
  },
  {
    // The pure domain knows nothing of HTTP, SQL or clients.
    files: ['src/versions/**/*.ts', 'src/rollout/machine/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@kubernetes/client-node', 'node:http', 'node:https', '**/kube-sim/**', '**/kube-api/**'], message: 'Domain code stays pure.' }] },
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
