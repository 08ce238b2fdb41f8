import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // House rule 1: only agent/exec may import execa.
      'no-restricted-imports': ['error', { paths: [{ name: 'execa', message: 'Run commands through agent/exec (house rule 1).' }] }],
    },
  },
  {
    files: ['agent/exec/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
