/** merchant: a merchant's staff (dispatcher); its token carries a `merchant` claim and sees only that merchant's riders and jobs */
export const roles = ['admin', 'service', 'user', 'rider', 'merchant'] as const;
export type Role = (typeof roles)[number];

export function isRole(s: string): s is Role {
  return (roles as readonly string[]).includes(s);
}
