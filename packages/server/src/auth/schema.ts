import { Type, type Static } from '@sinclair/typebox';
import { roles } from '@infra/core';

export const RoleSchema = Type.Union(roles.map((r) => Type.Literal(r)));

export const MintTokenBody = Type.Object(
  {
    user: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'user id (the MQTT username)' }),
    role: RoleSchema,
    ttl: Type.Optional(Type.String({ pattern: '^[0-9]+[smhd]$', description: 'lifetime such as 15m, 12h, 30d; default auth.tokenTtl' })),
    merchant: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'role merchant only (required there): the merchant whose riders and jobs the token manages' })),
  },
  { additionalProperties: false },
);
export type MintTokenBody = Static<typeof MintTokenBody>;

export const TokenReply = Type.Object({ token: Type.String(), user: Type.String(), role: RoleSchema, merchant: Type.Optional(Type.String()), expiresAt: Type.String({ format: 'date-time' }) });
export type TokenReply = Static<typeof TokenReply>;

export const WhoAmIReply = Type.Object({ user: Type.String(), role: RoleSchema, merchant: Type.Optional(Type.String()), expiresAt: Type.String({ format: 'date-time' }) });
export type WhoAmIReply = Static<typeof WhoAmIReply>;
