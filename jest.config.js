// Four projects: fast unit tests (pure code, no processes), integration tests against the real
// stack (PostgreSQL, Kafka, Kafka Connect + Debezium) started once per run by globalSetup, the same with a 3-broker Kafka, and the
// monolith contract suite, which runs against any base URL (CONTRACT_BASE_URL).
// tsconfig.json sets isolatedModules, so ts-jest only transpiles; `npm run typecheck` type-checks the whole tree once.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // stack state (PostgreSQL's pg_logical/*.snap files among it) is not part of the test tree
  modulePathIgnorePatterns: ['<rootDir>/.state/'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/test/integration/**/*.itest.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts'],
    },
    {
      // slower: a 3-node KRaft cluster (RF 3, min ISR 2) on its own port base; kills and restarts a broker
      ...common,
      displayName: 'integration-3broker',
      testMatch: ['<rootDir>/test/integration-3broker/**/*.itest.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      globalSetup: '<rootDir>/test/global-setup-3broker.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts'],
    },
    { ...common, displayName: 'contract', testMatch: ['<rootDir>/monolith-contract/src/contract.suite.ts'] },
  ],
};
