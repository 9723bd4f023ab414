import type { CodegenConfig } from '@graphql-codegen/cli';

// Types and typed documents from the server's schema: every graphql(`...`)
// call in src/ gets its result and variables types in src/gql/.
const config: CodegenConfig = {
  schema: '../../schema.graphqls',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        // Decimal travels as a string ("190.25"): keep it one, never a float.
        scalars: { Time: 'string', Decimal: 'string', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
      },
    },
  },
};

export default config;
