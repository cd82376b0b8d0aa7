import type { Text } from '../shared/errors.ts';

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
export function roleCombinationProblem(roles: readonly Role[]): Text | null {
  if (roles.length === 0) return { en: 'an account needs at least one role', zh: '账号至少需要一个角色' };
  if (new Set(roles).size !== roles.length) return { en: 'a role is listed twice', zh: '角色重复' };
  const administrator = roles.filter(isAdministratorRole);
  if (administrator.length > 0 && roles.length > 1) {
    return {
      en: `the administrator role ${administrator.join(', ')} cannot be combined with any other role (三员分立: admin, security and auditor are separate accounts and do no casework)`,
      zh: `管理员角色 ${administrator.join('、')} 不能与其他角色兼任（三员分立：系统管理员、安全保密管理员、安全审计员各自独立，且不办理业务）`,
    };
  }
  return null;
}
