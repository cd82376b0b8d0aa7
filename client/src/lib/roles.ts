// Which role may open which page, and where each role lands after login. The server enforces the
// same rules on its API; this only keeps people away from pages that would answer 403.

export type RoutePath = '/login' | '/console' | '/wall' | '/replay' | '/admin';
export const APP_ROUTES: readonly Exclude<RoutePath, '/login'>[] = ['/console', '/wall', '/replay', '/admin'];

const ALLOWED: Record<Exclude<RoutePath, '/login'>, readonly string[]> = {
  '/console': ['clerk'],
  '/wall': ['supervisor', 'clerk'],
  '/replay': ['legal', 'supervisor'],
  '/admin': ['admin', 'security', 'auditor'],
};

/** Home page by role, first match wins (an account with several casework roles goes to the first). */
const HOME_ORDER: readonly [string, RoutePath][] = [
  ['clerk', '/console'],
  ['supervisor', '/wall'],
  ['legal', '/replay'],
  ['admin', '/admin'],
  ['security', '/admin'],
  ['auditor', '/admin'],
];

export function isKnownRoute(path: string): path is RoutePath {
  return path === '/login' || (APP_ROUTES as readonly string[]).includes(path);
}

export function canOpen(roles: readonly string[], path: RoutePath): boolean {
  if (path === '/login') return true;
  return ALLOWED[path].some((r) => roles.includes(r));
}

/** The page a user lands on after login; null when none of their roles has a page. */
export function homeFor(roles: readonly string[]): RoutePath | null {
  for (const [role, path] of HOME_ORDER) if (roles.includes(role)) return path;
  return null;
}

export function routesFor(roles: readonly string[]): Exclude<RoutePath, '/login'>[] {
  return APP_ROUTES.filter((p) => canOpen(roles, p));
}
