import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Db } from '../shared/db/database.ts';
import type { Logger } from '../shared/logger.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import type { Role } from './roles.ts';
import type { UserRepository } from './user-repository.ts';

interface SeedUser {
  username: string;
  displayName: string;
  roles: Role[];
  rooms: string[];
}

/** The demo users of CONTRACTS.md (with invented names); each password is `<username>-demo`. */
export const DEMO_USERS: SeedUser[] = [
  { username: 'admin', displayName: '王强', roles: ['admin'], rooms: [] },
  { username: 'security', displayName: '李娜', roles: ['security'], rooms: [] },
  { username: 'auditor', displayName: '赵敏', roles: ['auditor'], rooms: [] },
  { username: 'clerk', displayName: '陈静', roles: ['clerk'], rooms: ['hearing-1', 'interview-1'] },
  { username: 'supervisor', displayName: '刘洋', roles: ['supervisor'], rooms: [] },
  { username: 'legal', displayName: '周婷', roles: ['legal'], rooms: [] },
];

/** The administrator accounts of a production installation, named after their office. */
const ADMINISTRATORS: SeedUser[] = [
  { username: 'admin', displayName: '系统管理员', roles: ['admin'], rooms: [] },
  { username: 'security', displayName: '安全保密管理员', roles: ['security'], rooms: [] },
  { username: 'auditor', displayName: '安全审计员', roles: ['auditor'], rooms: [] },
];

export const INITIAL_PASSWORDS_FILE = 'initial-passwords';

/**
 * Demo mode: adds any missing demo user. Otherwise, when no user exists at all: creates the three
 * administrators with random passwords, written once to DATA_DIR/initial-passwords (mode 0600) and
 * changed at first login.
 */
export async function ensureInitialUsers(options: {
  db: Db;
  users: UserRepository;
  audit: AuditLog;
  log: Logger;
  demo: boolean;
  dataDir: string;
}): Promise<void> {
  const { db, users, audit, log } = options;
  if (options.demo) {
    const knownRooms = new Set(db.prepare<[], { id: string }>('SELECT id FROM rooms').all().map((r) => r.id));
    for (const seed of DEMO_USERS) {
      if (users.findCredentials(seed.username)) continue;
      const passwordHash = await hashPassword(`${seed.username}-demo`);
      db.transaction(() => {
        users.create({ ...seed, rooms: seed.rooms.filter((r) => knownRooms.has(r)), passwordHash, mustChangePassword: false });
        audit.record({ actor: null }, 'user.created', seed.username, { roles: seed.roles, demo: true });
      })();
    }
    return;
  }
  if (users.count() > 0) return;
  const lines: string[] = [];
  for (const seed of ADMINISTRATORS) {
    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    db.transaction(() => {
      users.create({ ...seed, passwordHash, mustChangePassword: true });
      audit.record({ actor: null }, 'user.created', seed.username, { roles: seed.roles, initial: true });
    })();
    lines.push(`${seed.username}\t${password}`);
  }
  const file = join(options.dataDir, INITIAL_PASSWORDS_FILE);
  writeFileSync(
    file,
    `# Initial passwords of the administrator accounts. Each must be changed at first login.\n# Hand each to its holder and delete this file.\n${lines.join('\n')}\n`,
    { mode: 0o600, flag: 'wx' },
  );
  log.warn({ file }, 'created the administrator accounts; their initial passwords are in this file (mode 0600)');
}
