import type { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.ts';


/**
 * Calls every listener of `event`; one that throws is logged and neither stops the others nor
 * reaches the media pipeline (mediasoup's safeEmit).
 */
export function safeEmit(emitter: object, log: Logger, event: string, ...args: unknown[]): void {
  // Typed emitters narrow rawListeners to their own event names; this helper serves them all.
  for (const listener of (emitter as EventEmitter).rawListeners(event)) {
    try {
      (listener as (...a: unknown[]) => void)(...args);
    } catch (err) {
      log.error({ err, event }, 'listener threw');
    }
  }
}

/** A child logger tagged `mod: 'simulator'` unless the caller's logger already carries a `mod`. */
export function simulatorLogger(log: Logger, bindings: Record<string, string>): Logger {
  return log.child('mod' in log.bindings() ? bindings : { mod: 'simulator', ...bindings });
}
