import { z } from 'zod';
import { env, loadConfig } from '@warmhouse/shared';

export const standInConfigShape = {
  MONOLITH_PORT: env.port(8080),
  /** bind address: loopback for local runs, 0.0.0.0 in a container */
  MONOLITH_HOST: z.string().min(1).default('127.0.0.1'),
  MONOLITH_DATABASE_URL: env.postgresUrl(),
  MONOLITH_SEED: env.bool(false),
  LOG_LEVEL: env.logLevel(),
};

export const simulatorConfigShape = {
  MONOLITH_DATABASE_URL: env.postgresUrl(),
  /** row updates per second, spread over sensors and heating systems */
  SIMULATOR_RATE: env.nonNegativeNumber(2),
  LOG_LEVEL: env.logLevel(),
};

export const loadStandInConfig = (e = process.env) => loadConfig(standInConfigShape, e);
export const loadSimulatorConfig = (e = process.env) => loadConfig(simulatorConfigShape, e);
