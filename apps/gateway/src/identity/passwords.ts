// Passwords are hashed here, at the gateway, with argon2id (the library's defaults: 19 MiB, two
// passes, OWASP's recommendation): a command, an event or a log line never holds a password.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** The argon2id hash of a password, in PHC form (`$argon2id$v=19$…`). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// Verifying against this when the user does not exist (or has no password) costs what a real
// verification costs, so the answer's timing does not tell whether a username exists.
let decoy: Promise<string> | undefined;

/** Whether `password` matches `passwordHash`; with no hash, false after the same amount of work. */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (passwordHash === null) {
    decoy ??= hash(randomBytes(32).toString('base64url'));
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed hash (it came through a command schema, so only a bug gets here) matches nothing.
    return false;
  }
}

/** Computes the decoy hash ahead of the first login of an unknown user. */
export async function warmUpPasswords(): Promise<void> {
  await verifyPassword(null, '');
}

/** A strong random password (for a generated admin account): 24 characters of base64url. */
export const generatePassword = (): string => randomBytes(18).toString('base64url');
