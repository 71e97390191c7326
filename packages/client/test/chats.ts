/** Test fixture: an SDK chat for `userId` on a test stack (packages/broker/test/stack.ts), reconnect off. */
import type { TestStack } from '../../broker/test/stack.js';
import { InfraChat, type ChatOptions } from '../src/index.js';

export async function connectChat(stack: TestStack, userId: string, extra: Partial<ChatOptions> = {}): Promise<InfraChat> {
  return InfraChat.connect({ url: stack.mqttUrl, apiUrl: stack.apiUrl, userId, token: await stack.token(userId), reconnectPeriod: 0, ...extra });
}
