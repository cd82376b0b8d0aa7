import { ApiError } from './api.ts';
import { t } from './i18n.svelte.ts';

/** What to show a person for a failed API call: the server's own message, or a network hint. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('common.networkError');
    return e.message || e.code;
  }
  return e instanceof Error ? e.message : String(e);
}
