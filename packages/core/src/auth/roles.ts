export const roles = ['admin', 'service', 'user', 'rider'] as const;
export type Role = (typeof roles)[number];

export function isRole(s: string): s is Role {
  return (roles as readonly string[]).includes(s);
}
