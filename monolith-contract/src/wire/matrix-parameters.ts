import type { NextFunction, Request, Response } from 'express';

/**
 * The path of a request target with every segment's matrix parameters (`;name=value`, e.g. `;jsessionid=…`)
 * removed, as Tomcat and Spring MVC remove them before matching: `/api/heating/1;jsessionid=abc/turn-on?x=1` →
 * `/api/heating/1/turn-on?x=1`. Only a raw `;` separates parameters (`%3B` is part of the segment); the query is
 * kept as it is.
 */
export function withoutMatrixParameters(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!path.includes(';')) return target;
  const stripped = path
    .split('/')
    .map((segment) => segment.split(';')[0])
    .join('/');
  return q === -1 ? stripped : `${stripped}${target.slice(q)}`;
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/**
 * Express middleware (mount it at the application's root, before the routes): a request whose path, without
 * matrix parameters, is `prefix` or below it is routed without them, the way the monolith's Spring MVC serves
 * `/api/heating/1;jsessionid=abc` as `/api/heating/1`. `req.originalUrl` keeps what the client sent. Other paths
 * are left alone.
 */
export function matrixParametersRemoved(prefix: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const url = withoutMatrixParameters(req.url);
    if (url !== req.url && under(url.split('?')[0] ?? url, prefix)) req.url = url;
    next();
  };
}
