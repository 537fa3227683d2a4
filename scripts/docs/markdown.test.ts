import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// The READMEs stay short (reference, decisions in full and benchmark logs live in docs/), and no relative link in
// them or in docs/ points at a file or heading that is not there.

const ROOT = path.resolve(__dirname, '..', '..');
const MAX_README_LINES = 250;

function walk(rel: string, out: string[]): string[] {
  for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
    if (['node_modules', '.git', '.state', 'test-artifacts'].includes(e.name)) continue;
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(child, out);
    else if (e.name.endsWith('.md')) out.push(child);
  }
  return out;
}
const markdown = walk('', []);
const readmes = markdown.filter((f) => path.posix.basename(f) === 'README.md');
const checked = markdown.filter((f) => readmes.includes(f) || f.startsWith('docs/'));

/** The text outside fenced code blocks and inline code, where links and headings count. */
export function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, '');
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links of a markdown file that do not resolve: `target (why)`. */
export function brokenLinks(
  file: string,
  read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8'),
  isFile = (f: string) => existsSync(path.join(ROOT, f)) && statSync(path.join(ROOT, f)).isFile(),
  exists = (f: string) => existsSync(path.join(ROOT, f)),
): string[] {
  const broken: string[] = [];
  const text = read(file);
  for (const line of prose(text))
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [p, anchor] = target.split('#') as [string, string | undefined];
      const rel = p === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(p)));
      if (rel.startsWith('..') || !exists(rel)) {
        broken.push(`${target} (no file ${rel})`);
        continue;
      }
      if (anchor && rel.endsWith('.md') && isFile(rel) && !anchors(read(rel)).has(anchor))
        broken.push(`${target} (no heading #${anchor} in ${rel})`);
    }
  return broken;
}

describe('markdown', () => {
  it('finds the READMEs and docs/', () => {
    expect(readmes).toEqual(expect.arrayContaining(['README.md', 'proxy/README.md', 'helm/README.md']));
    expect(checked).toContain('docs/decisions.md');
  });

  it.each(readmes)(`%s is under ${MAX_README_LINES} lines`, (file) => {
    const lines = readFileSync(path.join(ROOT, file), 'utf8').replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThan(MAX_README_LINES);
  });

  it.each(checked)('every relative link of %s resolves', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it('the link check finds what it claims to find', () => {
    const files: Record<string, string> = {
      'docs/a.md': [
        '# Title',
        '## Worker processes (`PROXY_WORKERS`)',
        '[ok](../README.md) [ok](#title) [ok](#worker-processes-proxy_workers) [web](https://example.com)',
        '[gone](missing.md) [bad anchor](#nope) [up](../../outside.md)',
        '`[in code](nowhere.md)`',
        '```',
        '[in a block](nowhere.md)',
        '```',
      ].join('\n'),
      'README.md': '# Warm House strangler\n',
    };
    const has = (f: string) => f in files;
    expect(brokenLinks('docs/a.md', (f) => files[f]!, has, has)).toEqual([
      'missing.md (no file docs/missing.md)',
      '#nope (no heading #nope in docs/a.md)',
      '../../outside.md (no file ../outside.md)',
    ]);
  });
});
