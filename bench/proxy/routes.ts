/**
 * The 20-route table of the proxy benchmark, and the nginx configuration with equivalent routes.
 * Every route goes to the monolith (the benchmark measures forwarding, not the extracted services).
 */
export interface BenchRoute {
  id: string;
  method: string;
  path: string;
}

export const BENCH_ROUTES: BenchRoute[] = [
  { id: 'heating-get', method: 'GET', path: '/api/heating/:id' },
  { id: 'heating-update', method: 'PUT', path: '/api/heating/:id' },
  { id: 'heating-turn-on', method: 'POST', path: '/api/heating/:id/turn-on' },
  { id: 'heating-turn-off', method: 'POST', path: '/api/heating/:id/turn-off' },
  { id: 'heating-set-temperature', method: 'POST', path: '/api/heating/:id/set-temperature' },
  { id: 'heating-current-temperature', method: 'GET', path: '/api/heating/:id/current-temperature' },
  { id: 'devices-list', method: 'GET', path: '/api/devices' },
  { id: 'devices-create', method: 'POST', path: '/api/devices' },
  { id: 'devices-get', method: 'GET', path: '/api/devices/:id' },
  { id: 'devices-update', method: 'PUT', path: '/api/devices/:id' },
  { id: 'devices-delete', method: 'DELETE', path: '/api/devices/:id' },
  { id: 'devices-state', method: 'GET', path: '/api/devices/:id/state' },
  { id: 'devices-commands', method: 'POST', path: '/api/devices/:id/commands' },
  { id: 'telemetry-ingest', method: 'POST', path: '/api/telemetry/:deviceId' },
  { id: 'telemetry-series', method: 'GET', path: '/api/telemetry/:deviceId/series' },
  { id: 'telemetry-latest', method: 'GET', path: '/api/telemetry/:deviceId/latest' },
  { id: 'users-me', method: 'GET', path: '/api/users/me' },
  { id: 'houses-get', method: 'GET', path: '/api/houses/:id' },
  { id: 'houses-devices', method: 'GET', path: '/api/houses/:id/devices' },
  { id: 'status', method: 'GET', path: '/api/status' },
];

/** The proxy's routes file (YAML is a superset of JSON). */
export function proxyTable(backendUrl: string): string {
  return JSON.stringify(
    {
      defaultTarget: 'monolith',
      upstreams: [{ name: 'monolith', url: backendUrl, maxConnections: 256 }],
      routes: BENCH_ROUTES.map((r) => ({ id: r.id, methods: [r.method], path: r.path, target: 'monolith' })),
    },
    null,
    2,
  );
}

/** `/api/heating/:id/turn-on` → `^/api/heating/[^/]+/turn-on/?$` (nginx regex location). */
function regexOf(path: string): string {
  return `^${path.replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`;
}

/**
 * nginx with the same routes: one regex location per path pattern (methods are not a location criterion
 * in nginx; paths shared by several methods get one location), keep-alive upstream, the same forwarded
 * headers the proxy adds, no access log (the proxy logs only failures).
 */
export function nginxConf(opts: { prefix: string; listenPort: number; backendPort: number; workers: string }): string {
  const paths = [...new Set(BENCH_ROUTES.map((r) => r.path))];
  const locations = paths
    .map((p) => `    location ~ ${regexOf(p)} {\n      proxy_pass http://monolith;\n    }`)
    .join('\n');
  return `worker_processes ${opts.workers};
pid ${opts.prefix}/nginx.pid;
error_log ${opts.prefix}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${opts.prefix}/client_body;
  proxy_temp_path ${opts.prefix}/proxy;
  fastcgi_temp_path ${opts.prefix}/fastcgi;
  uwsgi_temp_path ${opts.prefix}/uwsgi;
  scgi_temp_path ${opts.prefix}/scgi;
  upstream monolith {
    server 127.0.0.1:${opts.backendPort};
    keepalive 256;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${opts.listenPort};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $proxy_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Request-Id $request_id;
${locations}
    location / {
      proxy_pass http://monolith;
    }
  }
}
`;
}
