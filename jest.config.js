// Five projects:
// - unit: pure code, in process (tiny HTTP servers on port 0 are fine); no child processes, no JVM, no long load;
// - process: tests that start processes or run long load — Maven and a JVM (real Helm, helm-java), child
//   processes, 20–80 s of load — files named *.ptest.ts beside the code they test; run with --runInBand;
// - integration: against the real stack (PostgreSQL, Kafka, Kafka Connect + Debezium) started once per run by
//   globalSetup; integration-3broker: the same with a 3-broker Kafka;
// - contract: the monolith contract suite, which runs against any base URL (CONTRACT_BASE_URL).
// tsconfig.json sets isolatedModules, so ts-jest only transpiles; `npm run typecheck` type-checks the whole tree once.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // stack state (PostgreSQL's pg_logical/*.snap files among it) is not part of the test tree
  modulePathIgnorePatterns: ['<rootDir>/.state/'],
  testPathIgnorePatterns: ['/node_modules/'],
};
const stack = {
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/src/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'process',
      testMatch: ['<rootDir>/**/src/**/*.ptest.ts', '<rootDir>/scripts/**/*.ptest.ts'],
    },
    {
      ...common,
      ...stack,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/test/integration/**/*.itest.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
    {
      // slower: a 3-node KRaft cluster (RF 3, min ISR 2) on its own port base; kills and restarts a broker
      ...common,
      ...stack,
      displayName: 'integration-3broker',
      testMatch: ['<rootDir>/test/integration-3broker/**/*.itest.ts'],
      globalSetup: '<rootDir>/test/global-setup-3broker.ts',
    },
    { ...common, displayName: 'contract', testMatch: ['<rootDir>/monolith-contract/src/contract.suite.ts'] },
  ],
};
