/*
 * A person signing in to the dashboard through the real authorization code flow, with plain HTTP: every redirect
 * followed by hand, cookies kept as a browser keeps them (by host, not port, with their paths), the demo provider's
 * development login form (any password) and its consent form submitted. Test code only.
 */

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

/** The cookies of one browser: by host (as browsers do: not by port), then path and name. */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  /** Keeps the `Set-Cookie` lines of a response from `url`; a cleared or expired cookie is forgotten. */
  store(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let gone = value === '';
      for (const attribute of attributes) {
        const [k = '', v = ''] = attribute.trim().split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) gone = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) gone = true;
      }
      const key = `${url.hostname} ${path} ${name}`;
      if (gone) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  /** The `Cookie` header a browser sends to `url`. */
  header(url: URL): string {
    return [...this.cookies.entries()]
      .filter(([key, c]) => key.startsWith(`${url.hostname} `) && pathMatches(url.pathname, c.path))
      .map(([, c]) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** The value of a cookie named `name` (any path), if kept. */
  value(name: string): string | undefined {
    return [...this.cookies.values()].find((c) => c.name === name)?.value;
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
}

/** What a finished sign-in left: the session cookie and the dashboard page it opened. */
export interface SignedInBrowser {
  readonly jar: CookieJar;
  /** the sealed `cdc_monitor_person` value */
  readonly sealed: string;
  /** the dashboard page (`GET /` with the session): status and HTML */
  readonly page: { readonly status: number; readonly html: string };
  /** every request made, `METHOD origin+path` (a record of the hops: provider, login, consent, callback) */
  readonly hops: readonly string[];
}

/**
 * `GET <monitor>/auth/login`, then whatever the provider and the monitor answer: redirects followed, the provider's
 * login form posted with `login` and any password, its consent form posted, until the monitor sends the browser to
 * its dashboard page; that page is fetched too. Throws with the last answer when the flow stops anywhere else.
 */
export async function signInThroughProvider(monitorUrl: string, login: string): Promise<SignedInBrowser> {
  const jar = new CookieJar();
  const hops: string[] = [];
  const monitor = new URL(monitorUrl);
  let url = new URL('/auth/login', monitor);
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const method = form ? 'POST' : 'GET';
    hops.push(`${method} ${url.origin}${url.pathname}`);
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: jar.header(url), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form,
      signal: AbortSignal.timeout(15_000),
    });
    jar.store(url, res);
    const text = await res.text();
    form = undefined;
    if (url.origin === monitor.origin && url.pathname === '/' && method === 'GET') {
      const sealed = jar.value('cdc_monitor_person');
      if (!sealed) throw new Error(`signed in as ${login}, yet no session cookie: ${res.status} ${text.slice(0, 300)}`);
      return { jar, sealed, page: { status: res.status, html: text }, hops };
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(text)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(text)?.[1];
    if (res.status === 200 && action && (prompt === 'login' || prompt === 'consent')) {
      url = new URL(action.replaceAll('&amp;', '&'), url);
      form = new URLSearchParams(
        prompt === 'login' ? { prompt, login, password: 'any password: the dev login checks none' } : { prompt },
      );
      continue;
    }
    throw new Error(`the sign-in of ${login} stopped at ${method} ${url.href}: ${res.status} ${text.slice(0, 500)}`);
  }
  throw new Error(`the sign-in of ${login} took more than 20 requests: ${hops.join(' → ')}`);
}
