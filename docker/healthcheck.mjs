/* global fetch, AbortSignal -- Node.js 18+ globals */
// HEALTHCHECK of the images (Docker and docker compose; Kubernetes uses the chart's probes instead).
// Exit 0 when HEALTHCHECK_URL answers 2xx within 3 s. No shell or curl in a distroless image, hence node.
const url = process.env.HEALTHCHECK_URL;
if (!url) process.exit(0);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
