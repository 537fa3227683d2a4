// Who may do what on the dashboard, pure: (principal, need) → verdict. The proxy decides again for every change a
// person makes (it verifies the person's token); this decision hides the controls and refuses early.

/** The roles of the proxy's admin API, as a person's token carries them (the proxy's `strangler:*` roles). */
export const DASHBOARD_ROLES = {
  /** Sees the dashboard: routes, numbers, audit log, CDC. */
  viewer: 'strangler:viewer',
  /** Also changes routes and plans, restarts connectors, runs a drift check. */
  operator: 'strangler:operator',
} as const;

/** What a request needs: reading (GET, HEAD) or changing (anything else). */
export type DashboardNeed = 'read' | 'change';

/** The need of an HTTP method. */
export function needOf(method: string): DashboardNeed {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'change';
}

/** Who is asking: the shared `MONITOR_TOKEN` (bearer or token sign-in), or a person signed in with OIDC. */
export type DashboardPrincipal =
  { readonly kind: 'token' } | { readonly kind: 'person'; readonly subject: string; readonly roles: readonly string[] };

/** The decision on a request. */
export type DashboardVerdict =
  { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly required: readonly string[] };

/** The roles that allow a need (an operator may read). */
export function rolesFor(need: DashboardNeed): readonly string[] {
  return need === 'read' ? [DASHBOARD_ROLES.viewer, DASHBOARD_ROLES.operator] : [DASHBOARD_ROLES.operator];
}

/** Whether this principal may do what the request needs. The shared token may do everything (automation). */
export function decideDashboardAccess(principal: DashboardPrincipal, need: DashboardNeed): DashboardVerdict {
  if (principal.kind === 'token') return { ok: true };
  const required = rolesFor(need);
  if (required.some((r) => principal.roles.includes(r))) return { ok: true };
  const what = need === 'read' ? 'seeing the dashboard' : 'a change';
  return {
    ok: false,
    reason: `${what} needs role ${required.join(' or ')}; you have ${principal.roles.join(', ') || 'no role'}`,
    required,
  };
}

/** Whether the page shows the change controls. */
export function canChange(principal: DashboardPrincipal): boolean {
  return decideDashboardAccess(principal, 'change').ok;
}

/**
 * The roles in a token's claims: `claim` names the claim, a dotted path walks into objects (`realm_access.roles`);
 * the value is a list of strings or one space-separated string (as the proxy reads PROXY_ADMIN_ROLES_CLAIM).
 */
export function rolesFromClaims(claims: Readonly<Record<string, unknown>>, claim: string): string[] {
  let value: unknown = claims;
  for (const part of claim.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}
