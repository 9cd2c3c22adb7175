// Who is asking: the user a request's access token names. Set on every request by authenticate.ts.

export const roles = ['customer', 'seller', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface Principal {
  /** The user's id (an integer, as text). */
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** The session the token belongs to; logging out closes it and every token of it stops working. */
  readonly sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, or null for an anonymous request. */
    principal: Principal | null;
  }
}
