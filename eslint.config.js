// Lint runs inside `npm test`; type-aware rules catch floating promises and unsafe `any` flows.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // deleting environment variables by name is the point of several helpers
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  // The CLI is a client of the public API (node-pg-migrate v10): from src/cli/** it imports only the
  // public entries, index.ts and light.ts (and Node's and its dependencies' modules), so the API stays
  // honest. A file deeper in src/cli reaches them one '../' further; its other '../' imports stay inside.
  // import() is held to the same rule.
  ...[1, 2, 3].map((depth) => {
    const up = '../'.repeat(depth);
    const message = 'The CLI uses only the public API: import from index.ts (loaded when a command needs it) or light.ts (start-up).';
    return {
      files: [`src/cli/${'*/'.repeat(depth - 1)}*.ts`],
      rules: {
        'no-restricted-imports': ['error', { patterns: [{ group: [`${up}*`, `!${up}index.ts`, `!${up}light.ts`], message }] }],
        // (esquery's regular expressions cannot hold a '/': \x2F stands for it)
        'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/^(\\.\\.\\x2F){${depth}}/]:not([source.value=/^(\\.\\.\\x2F){${depth}}(index|light)\\.ts$/])`, message }],
      },
    };
  }),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
