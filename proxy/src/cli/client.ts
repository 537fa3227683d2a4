/** Failure talking to the admin API, with the CLI exit code it maps to. */
export class AdminCallError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** CLI exit codes. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  unauthorized: 3,
  rejected: 4,
  unavailable: 5,
  /** 403: the person's token (STRANGLER_ACCESS_TOKEN) lacks the role the command needs. */
  forbidden: 6,
} as const;

/** `<detail> (<code>)` out of the admin API's problem body (RFC 9457), or undefined when it is not one. */
function problemMessage(json: unknown): string | undefined {
  const { detail, code } = (json ?? {}) as { detail?: unknown; code?: unknown };
  if (typeof detail !== 'string') return undefined;
  return typeof code === 'string' ? `${detail} (${code})` : detail;
}

/** Minimal JSON client of the admin API. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly actor: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          accept: 'application/json',
          'x-strangler-actor': this.actor,
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new AdminCallError(`cannot reach the admin API at ${this.baseUrl} (${cause})`, EXIT.unavailable);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const message = problemMessage(json) ?? `HTTP ${res.status}`;
    if (res.status === 401)
      throw new AdminCallError(
        `unauthorized: ${message} (set STRANGLER_ACCESS_TOKEN, STRANGLER_ADMIN_TOKEN or --token)`,
        EXIT.unauthorized,
      );
    if (res.status === 403) throw new AdminCallError(`forbidden: ${message}`, EXIT.forbidden);
    if (res.status >= 500) throw new AdminCallError(`admin API failed: ${message}`, EXIT.unavailable);
    throw new AdminCallError(message, EXIT.rejected);
  }
}
