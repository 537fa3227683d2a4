import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DEV_PORT_BASE, portsFor, REPO_ROOT, STATE_ROOT } from './layout';

/**
 * `npx tsx scripts/stack/dashboard-screenshot.ts [out.png]`: signs into the dashboard of the stack `npm start` runs
 * (STACK_PORT_BASE, token from PROXY_ADMIN_TOKEN or .state/dev/admin-token) in Debian's chromium and saves a full-page
 * screenshot, by default over docs/img/monitor-dashboard.png.
 */
async function main(): Promise<void> {
  const base = Number(process.env.STACK_PORT_BASE ?? DEV_PORT_BASE);
  const url = `http://127.0.0.1:${portsFor(base).cdcMonitor}`;
  const token =
    process.env.PROXY_ADMIN_TOKEN ?? readFileSync(path.join(STATE_ROOT, 'dev', 'admin-token'), 'utf8').trim();
  const out = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'docs', 'img', 'monitor-dashboard.png'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    await page.goto(`${url}/`);
    await page.getByTestId('token').fill(token);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('live').getByText('live (server-sent events)').waitFor({ timeout: 30_000 });
    await page.getByTestId('connectors').getByText('RUNNING').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`saved ${out}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
