import { z } from 'zod';

/** Thrown when the environment does not satisfy a process's config schema; lists every bad variable at once. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_ERR_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment with one zod schema whose keys are the variable names, reports every problem
 * at once naming the variable, and returns a frozen, typed object.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.infer<z.ZodObject<S>>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const value = typeof issue.path[0] === 'string' ? env[issue.path[0]] : undefined;
      return value === undefined
        ? `${name}: ${issue.message} (variable is not set)`
        : `${name}: ${issue.message} (got ${JSON.stringify(value)})`;
    });
    throw new ConfigError(problems);
  }
  return Object.freeze(result.data);
}

/** Common field types for environment variables (all env values arrive as strings). */
export const env = {
  port: (fallback?: number) => {
    const schema = z.coerce.number().int().min(0).max(65535);
    return fallback === undefined ? schema : schema.default(fallback);
  },
  url: () => z.string().url(),
  postgresUrl: () => z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL'),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeNumber: (fallback: number) => z.coerce.number().min(0).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** a comma-separated list, required and not empty: `a, b,c` → `['a', 'b', 'c']` */
  list: () => z.string().min(1).transform(splitList),
  /** a comma-separated list, `fallback` when unset; set but empty it parses to `[]` (refine it to refuse that) */
  listOr: (fallback: readonly string[]) => z.string().default(fallback.join(',')).transform(splitList),
};

/** The items of a comma-separated list, trimmed, without empty ones. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What a config schema parses to: the frozen, typed environment of a process. */
export type ConfigOf<S extends z.ZodRawShape> = Readonly<z.infer<z.ZodObject<S>>>;

/**
 * The variables every extracted service reads alike: where its HTTP server listens, its own database, Kafka, the
 * log level and the graceful-stop grace. `port` and `kafkaClientId` are the service's defaults.
 */
export function serviceConfigShape({ port, kafkaClientId }: { port: number; kafkaClientId: string }) {
  return {
    PORT: env.port(port),
    /** where the HTTP server binds; loopback by default, 0.0.0.0 in a container */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** this service's own database, as its own role */
    DATABASE_URL: env.postgresUrl(),
    KAFKA_BROKERS: env.list(),
    KAFKA_CLIENT_ID: z.string().min(1).default(kafkaClientId),
    LOG_LEVEL: env.logLevel(),
    /** how long a graceful stop waits for in-flight requests and handlers, ms */
    SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
  };
}
