// Workflow code runs in Temporal's deterministic sandbox and is replayed from history:
// it must not reach Node built-ins, I/O libraries or ambient non-determinism. Pure domain
// rules are imported by workflows, so they obey the same fence.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import globals from 'globals';

const deterministic = ['workflows/**/*.ts', 'src/domain/**/*.ts'];

const bannedPaths = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  'mongoose',
  'express',
  'pino',
  'maxmind',
  'prom-client',
].map((name) => ({ name, message: 'Not allowed in deterministic (workflow) code.' }));

const sideEffects = {
  group: ['**/activities', '**/activities/**', '**/persistence/**', '**/http/**', '**/enrichment/**', '**/local-stack/**', '**/temporal/**'],
  message: 'Side effects belong in activities; workflows import them as types only (proxyActivities).',
  allowTypeImports: true,
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'bench/results/**', 'coverage/**', 'web/src/generated/**', 'tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: deterministic,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: bannedPaths, patterns: [sideEffects] }],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No environment in deterministic code: pass values in as inputs.' },
        { name: 'fetch', message: 'I/O belongs in an activity.' },
        { name: 'setImmediate', message: 'Use workflow timers (sleep/condition).' },
        { name: 'require', message: 'Use static imports.' },
        { name: 'performance', message: 'Use the workflow clock (Date) only.' },
        { name: 'crypto', message: 'Use uuid4() from @temporalio/workflow.' },
      ],
    },
  },
  {
    // Workflows: of src/, only the pure domain rules (an allowlist, so a new folder there, like the
    // client in src/temporal, is out until someone decides otherwise). Types may come from anywhere.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: bannedPaths,
          patterns: [
            sideEffects,
            { group: ['../src/**', '!../src/domain', '!../src/domain/**'], message: 'Workflows import only src/domain (pure) from src/; shared definitions live in workflows/definitions.ts.', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
