import type { Db } from '../shared/db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Role } from './roles.ts';

export interface User {
  id: number;
  username: string;
  displayName: string;
  roles: Role[];
  /** Rooms the user is limited to; empty means no room limit. */
  rooms: string[];
  mustChangePassword: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  password_hash: string;
  roles_json: string;
  must_change_password: number;
  disabled: number;
  created_at: string;
  updated_at: string;
}

export interface NewUser {
  username: string;
  displayName: string;
  roles: Role[];
  rooms: string[];
  passwordHash: string;
  mustChangePassword: boolean;
}

/** Users, their roles and room limits. Password hashes never leave this class except for checking. */
export class UserRepository {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users').get()!.n;
  }

  list(): User[] {
    return this.db.prepare<[], UserRow>('SELECT * FROM users ORDER BY id').all().map((r) => this.toUser(r));
  }

  findById(id: number): User | null {
    const row = this.db.prepare<[number], UserRow>('SELECT * FROM users WHERE id = ?').get(id);
    return row ? this.toUser(row) : null;
  }

  /** The user and their password hash, for login. */
  findCredentials(username: string): { user: User; passwordHash: string } | null {
    const row = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?').get(username);
    return row ? { user: this.toUser(row), passwordHash: row.password_hash } : null;
  }

  passwordHash(id: number): string | null {
    return this.db.prepare<[number], { password_hash: string }>('SELECT password_hash FROM users WHERE id = ?').get(id)
      ?.password_hash ?? null;
  }

  create(user: NewUser): User {
    const now = this.clock.now().toISOString();
    return this.db.transaction(() => {
      const { lastInsertRowid } = this.db
        .prepare(
          `INSERT INTO users (username, display_name, password_hash, roles_json, must_change_password, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(user.username, user.displayName, user.passwordHash, JSON.stringify(user.roles), user.mustChangePassword ? 1 : 0, now, now);
      const id = Number(lastInsertRowid);
      this.replaceRooms(id, user.rooms);
      return this.findById(id)!;
    })();
  }

  update(id: number, change: { displayName?: string; roles?: Role[]; rooms?: string[]; disabled?: boolean }): User {
    return this.db.transaction(() => {
      const now = this.clock.now().toISOString();
      if (change.displayName !== undefined) {
        this.db.prepare('UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?').run(change.displayName, now, id);
      }
      if (change.roles !== undefined) {
        this.db.prepare('UPDATE users SET roles_json = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(change.roles), now, id);
      }
      if (change.disabled !== undefined) {
        this.db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?').run(change.disabled ? 1 : 0, now, id);
      }
      if (change.rooms !== undefined) this.replaceRooms(id, change.rooms);
      return this.findById(id)!;
    })();
  }

  setPassword(id: number, passwordHash: string, mustChange: boolean): void {
    this.db
      .prepare('UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ?')
      .run(passwordHash, mustChange ? 1 : 0, this.clock.now().toISOString(), id);
  }

  private replaceRooms(id: number, rooms: string[]): void {
    this.db.prepare('DELETE FROM user_rooms WHERE user_id = ?').run(id);
    const insert = this.db.prepare('INSERT INTO user_rooms (user_id, room_id) VALUES (?, ?)');
    for (const room of rooms) insert.run(id, room);
  }

  private toUser(row: UserRow): User {
    const rooms = this.db
      .prepare<[number], { room_id: string }>('SELECT room_id FROM user_rooms WHERE user_id = ? ORDER BY room_id')
      .all(row.id)
      .map((r) => r.room_id);
    return {
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      roles: JSON.parse(row.roles_json) as Role[],
      rooms,
      mustChangePassword: row.must_change_password === 1,
      disabled: row.disabled === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
