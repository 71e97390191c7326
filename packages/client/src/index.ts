import { topics } from '@infra/core/topics';

export { topics };
export type { ConversationKind, MemberRole, ContentType, MessageType, SendRequest, ImMessage, ImEvent, PresenceState } from '@infra/core/topics';
export { connectInfra, type ConnectOptions } from './connect.js';
export { InfraChat, ImError, type Ack, type ChatOptions } from './chat.js';
