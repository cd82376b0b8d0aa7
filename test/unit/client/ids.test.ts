import { afterEach, describe, expect, test, vi } from 'vitest';
import { newId } from '../../../client/src/lib/ids.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  afterEach(() => vi.unstubAllGlobals());

  test('makes distinct version-4 UUIDs', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(UUID_V4);
  });

  test('works without crypto.randomUUID, as in a page served over plain HTTP from a LAN address', () => {
    const getRandomValues = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
    vi.stubGlobal('crypto', { getRandomValues });
    expect(globalThis.crypto.randomUUID).toBeUndefined();
    expect(newId()).toMatch(UUID_V4);
  });
});
