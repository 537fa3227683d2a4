/** A part of a service that must work before it takes traffic: resolves true, or the reason it is not ready. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<true | string>;
}

/** The body of `GET /health/ready`, the same in every service. */
export interface ReadinessReport {
  status: 'ready' | 'not ready';
  /** per check: `ready`, or why not */
  checks: Record<string, string>;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref()),
  ]);

/** Runs every check (each bounded by `timeoutMs`; a throw is a reason) and says whether all passed. */
export async function readinessReport(
  checks: readonly ReadinessCheck[],
  { timeoutMs = 2_000 }: { timeoutMs?: number } = {},
): Promise<ReadinessReport> {
  const outcomes = await Promise.all(
    checks.map((c) =>
      withTimeout(c.check(), timeoutMs, c.name).catch((err: unknown) =>
        err instanceof Error ? err.message : String(err),
      ),
    ),
  );
  const report: ReadinessReport = { status: 'ready', checks: {} };
  checks.forEach((c, i) => {
    const outcome = outcomes[i];
    report.checks[c.name] = outcome === true ? 'ready' : String(outcome);
    if (outcome !== true) report.status = 'not ready';
  });
  return report;
}
