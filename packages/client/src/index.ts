import { topics } from '@infra/core/topics';

export { topics };
export type { ConversationKind, MemberRole, ContentType, MessageType, SendRequest, ImMessage, ImEvent, PresenceState, FileKind, FileInfo, StickerPack, EncryptedBody } from '@infra/core/topics';
export { connectInfra, type ConnectOptions } from './connect.js';
export { InfraChat, ImError, type Ack, type ChatOptions } from './chat.js';
export { uploadFile, type UploadData, type UploadOptions } from './upload.js';
export { E2eeKeys, type SealedMessage } from './e2ee.js';
