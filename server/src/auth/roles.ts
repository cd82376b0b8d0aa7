/**
 * Roles of CONTRACTS.md. The three administrator roles are separate (三员分立): an account holds at
 * most one of them and then nothing else, so no administrator does casework and none can do
 * another's job.
 */
export const ADMINISTRATOR_ROLES = ['admin', 'security', 'auditor'] as const;
export const CASEWORK_ROLES = ['clerk', 'supervisor', 'legal'] as const;
export const ROLES = [...ADMINISTRATOR_ROLES, ...CASEWORK_ROLES] as const;

export type AdministratorRole = (typeof ADMINISTRATOR_ROLES)[number];
export type CaseworkRole = (typeof CASEWORK_ROLES)[number];
export type Role = (typeof ROLES)[number];

export const isAdministratorRole = (role: string): role is AdministratorRole =>
  (ADMINISTRATOR_ROLES as readonly string[]).includes(role);

/** Why a set of roles may not be held by one account, or null when it may. */
export function roleCombinationProblem(roles: readonly Role[]): string | null {
  if (roles.length === 0) return 'an account needs at least one role';
  if (new Set(roles).size !== roles.length) return 'a role is listed twice';
  const administrator = roles.filter(isAdministratorRole);
  if (administrator.length > 0 && roles.length > 1) {
    return `the administrator role ${administrator.join(', ')} cannot be combined with any other role (三员分立: admin, security and auditor are separate accounts and do no casework)`;
  }
  return null;
}
