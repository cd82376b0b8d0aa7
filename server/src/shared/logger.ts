import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Synchronous writes to stdout so that nothing is lost on exit and no worker
 * thread keeps the process alive after shutdown. Secrets are redacted wherever they appear.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { app: 'hearing-recorder' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'currentPassword',
          'newPassword',
          'initialPassword',
          'token',
          '*.token',
          'idNumber',
          '*.idNumber',
          'req.headers.cookie',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: fd, sync: true }),
  );
}

/** A logger that writes nothing, for tests of pure services. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
