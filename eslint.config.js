import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// House rule 11: layers import downwards only. contract/ and common/ import nothing of ours;
// agent/ and aggregator/ import contract/ and common/ but never each other; cli/ and lab/ sit on
// top; nothing in the product imports bench/ or test/.
const OURS = ['contract', 'common', 'agent', 'aggregator', 'cli', 'lab', 'bench', 'test'];
const layer = (target, allowed) => ({
  target: `./${target}`,
  from: OURS.filter((d) => d !== target && !allowed.includes(d)).map((d) => `./${d}`),
  message: `${target}/ may import only ${allowed.length > 0 ? allowed.map((a) => `${a}/`).join(', ') : 'nothing of ours'} (house rule 11).`,
});

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // House rule 1: only agent/exec may import execa.
      'no-restricted-imports': ['error', { paths: [{ name: 'execa', message: 'Run commands through agent/exec (house rule 1).' }] }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('contract', []),
            layer('common', []),
            layer('agent', ['contract', 'common']),
            layer('aggregator', ['contract', 'common']),
            layer('cli', ['contract', 'common', 'agent', 'aggregator']),
            layer('lab', ['contract', 'common', 'agent', 'aggregator', 'cli']),
          ],
        },
      ],
    },
  },
  {
    files: ['agent/exec/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // bin/ is CommonJS (bin/package.json): a CommonJS entry starts faster (#17)
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { process: 'readonly', console: 'readonly', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
