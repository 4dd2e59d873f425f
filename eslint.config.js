// ESLint's flat config: typescript-eslint's recommended rules (syntax only, no type information,
// so `npm run lint` stays quick) plus limits on size and nesting that the code mostly meets today
// (docs/decisions/0131). Formatting is prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated (npm run gen) or built: fixed by their generator, never by hand.
    ignores: [
      'node_modules/',
      'dist/',
      'build/',
      'lib/',
      'imports/',
      'src/generated/',
      'src/api/*/types.ts',
      'src/api/kinds.ts',
      'docs/reference/',
      'cdk.out/',
      // The process kubelet's builds of Silo's bundle (decision 0105).
      '.cache/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Size and nesting: what a reader can hold in their head.
      complexity: ['error', { max: 20 }],
      'max-depth': ['error', 4],
      'max-params': ['error', 5],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-nested-callbacks': ['error', 4],
      // Unused names are errors, except the ones marked unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Parsed JSON and Kubernetes objects are `any` at the edges; typing them is a separate effort.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'prefer-const': ['error', { destructuring: 'all' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // Test files are lists of cases: a describe() holds many it()s, and a table of cases is long.
    files: ['test/**/*.test.ts'],
    rules: {
      'max-lines-per-function': 'off',
      'max-lines': ['error', { max: 800, skipBlankLines: true, skipComments: true }],
      'max-nested-callbacks': ['error', 6],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
