// ESLint for the TypeScript trees (server, shared, client, test, scripts) with typescript-eslint's type-checked
// recommended rules; the type information comes from tsconfig.json through the project service. Plain JavaScript
// (scripts/*.mjs, bin/, this file) gets the untyped recommended rules. Formatting is Prettier's (.prettierrc).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Globals of the plain JavaScript files, which run under Node. */
const NODE_GLOBALS = ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'require', 'module', '__dirname'];
const nodeGlobals = Object.fromEntries(NODE_GLOBALS.map((name) => [name, 'readonly']));

export default defineConfig(
  {
    // What .gitignore leaves out, at any depth as there (the bench builds into bench/.tmp/), and inputs kept as they are.
    ignores: ['**/dist/', '**/bench-results/', '**/test-output/', '**/.tmp/', '**/keys/', 'test/fixtures/', 'demo/'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // TypeScript's own convention (noUnusedParameters): a leading underscore marks a name kept on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // A caught value passed on as a rejection is not a new non-Error: the same allowance only-throw-error makes
      // for rethrowing it by default.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests fake async interfaces (auth engines, token storage, stores, procedures, login backends): an `async`
      // method without `await` is how a fake returns a promise and turns a throw into a rejection, as the real one does.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
  {
    // CommonJS (the package's "type"): require() is these files' only way to import.
    files: ['**/*.cjs', 'bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
