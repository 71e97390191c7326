import { topics } from '@infra/core/topics';

export { topics };
export type { ConversationKind, MemberRole, ContentType, MessageType, SendRequest, ImMessage, ImEvent, PresenceState, EncryptedBody } from '@infra/core/topics';
export { connectInfra, type ConnectOptions } from './connect.js';
export { InfraChat, ImError, type Ack, type ChatOptions } from './chat.js';
export { E2eeKeys, type SealedMessage } from './e2ee.js';
