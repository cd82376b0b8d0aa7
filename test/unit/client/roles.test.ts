import { describe, expect, test } from 'vitest';
import { canOpen, homeFor, isKnownRoute, routesFor } from '../../../client/src/lib/roles.ts';

describe('client routes by role', () => {
  test('each role lands on its home page after login', () => {
    expect(homeFor(['clerk'])).toBe('/console');
    expect(homeFor(['supervisor'])).toBe('/wall');
    expect(homeFor(['legal'])).toBe('/replay');
    expect(homeFor(['admin'])).toBe('/admin');
    expect(homeFor(['security'])).toBe('/admin');
    expect(homeFor(['auditor'])).toBe('/admin');
    expect(homeFor([])).toBeNull();
    expect(homeFor(['no-such-role'])).toBeNull();
  });

  test('casework pages are closed to the administrator roles and the other way round', () => {
    for (const role of ['admin', 'security', 'auditor']) {
      expect(canOpen([role], '/console')).toBe(false);
      expect(canOpen([role], '/wall')).toBe(false);
      expect(canOpen([role], '/replay')).toBe(false);
      expect(canOpen([role], '/admin')).toBe(true);
    }
    for (const role of ['clerk', 'supervisor', 'legal']) expect(canOpen([role], '/admin')).toBe(false);
    // Clerks watch their own rooms live (the server limits what the wall shows them).
    expect(canOpen(['clerk'], '/wall')).toBe(true);
    expect(canOpen(['legal'], '/console')).toBe(false);
    expect(canOpen([], '/login')).toBe(true);
  });

  test('the navigation lists exactly the pages a user may open', () => {
    expect(routesFor(['clerk'])).toEqual(['/console', '/wall']);
    expect(routesFor(['supervisor'])).toEqual(['/wall', '/replay']);
    expect(routesFor(['clerk', 'legal'])).toEqual(['/console', '/wall', '/replay']);
  });

  test('only the contract routes are known', () => {
    for (const p of ['/login', '/console', '/wall', '/replay', '/admin']) expect(isKnownRoute(p)).toBe(true);
    for (const p of ['/', '/console/', '/Admin', '/settings']) expect(isKnownRoute(p)).toBe(false);
  });
});
