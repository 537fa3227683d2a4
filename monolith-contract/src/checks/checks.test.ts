import { CONTRACT_CHECKS } from './index';

describe('the contract checks', () => {
  it('have unique kebab-case names and a description', () => {
    const names = CONTRACT_CHECKS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const check of CONTRACT_CHECKS) {
      expect(check.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(check.description.length).toBeGreaterThan(20);
    }
  });

  it('are frozen, so a consumer cannot change the contract it runs', () => {
    expect(Object.isFrozen(CONTRACT_CHECKS)).toBe(true);
    for (const check of CONTRACT_CHECKS) expect(Object.isFrozen(check)).toBe(true);
  });
});
