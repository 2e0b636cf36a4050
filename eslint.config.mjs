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
    ignores: ['dist/', 'test/fixtures/', 'demo/', 'bench-results/', 'test-output/', '.tmp/', 'keys/'],
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
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
);
