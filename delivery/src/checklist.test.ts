import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths';

// docs/plan-checklist.ru.md answers the migration plan item by item; every place it points to must exist.
const FILE = path.join(REPO_ROOT, 'docs', 'plan-checklist.ru.md');
const text = readFileSync(FILE, 'utf8');
const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
const anchors = (markdown: string) =>
  new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );

describe('docs/plan-checklist.ru.md', () => {
  it('links to repository paths', () => {
    expect(links.length).toBeGreaterThan(20);
  });

  it.each(links)('%s exists', (link) => {
    const [target, anchor] = link.split('#') as [string, string | undefined];
    const file = path.resolve(path.dirname(FILE), target);
    expect(file.startsWith(REPO_ROOT)).toBe(true);
    expect(existsSync(file)).toBe(true);
    if (anchor) expect(anchors(readFileSync(file, 'utf8'))).toContain(anchor);
  });

  it('answers every task of the plan, in the plan order, each item with a status', () => {
    const order = [
      'Задание 1. Создание',
      'Задание 2. Новые',
      'Задание 3. Подготовка',
      'Задание 1. Контейнеризация',
      'Задание 2. CI/CD',
    ];
    const positions = order.map((h) => text.indexOf(h));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const items = text.split('\n').filter((l) => /^\s*(\d+\.|-) (\*\*|❌|✅|«)/.test(l));
    for (const item of items) {
      if (/^\s*\d+\. \*\*Проекты микросервисов\*\*/.test(item)) continue; // its two sub-items carry the status
      expect({ item, status: /[✅❌]/.test(item) }).toEqual({ item, status: true });
    }
  });
});
