import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default ts.config(
  { ignores: ['dist/', 'node_modules/', 'test-results/', 'test/.harness/'] },
  js.configs.recommended,
  ...ts.configs.strict,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['test/browser/**/*.mjs', 'bench/**/*.mjs', '*.config.*'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The one door to Rust: only api.ts may import Tauri's core and event modules.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@tauri-apps/api/core', message: 'Go through src/api.ts.' },
            { name: '@tauri-apps/api/event', message: 'Go through src/api.ts.' },
          ],
        },
      ],
    },
  },
  {
    rules: {
      // The stores keep plain collections on purpose: envelopes land in them as they arrive and
      // reach the page only when a frame publishes them (see src/lib/stores/chat.svelte.ts).
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    files: ['src/api.ts', 'src/testing/**', 'test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The IPC contract is fixed; its `call<void>` stays as written.
    files: ['src/api.ts'],
    rules: { '@typescript-eslint/no-invalid-void-type': 'off' },
  },
);
