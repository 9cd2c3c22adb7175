import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'data/**', '**/dist/**', 'apps/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'suite', 'test'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message:
            'Read configuration through the validated config object (packages/platform config), not process.env.',
        },
      ],
    },
  },
  {
    // Configuration loading and test/bench tooling are the only places that may read process.env.
    files: [
      'packages/platform/src/config.ts',
      'scripts/**',
      'bench/**',
      '**/*.test.ts',
      'packages/testkit/**',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Domain code is pure: no I/O, no framework imports. (Its tests use node:test and node:assert.)
    files: ['contexts/*/src/domain/**/*.ts'],
    ignores: ['contexts/*/src/domain/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'pg', 'nats', 'fastify', 'ioredis', '@optic-mart/platform'],
              message: 'Domain code is pure: no I/O or framework imports.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
