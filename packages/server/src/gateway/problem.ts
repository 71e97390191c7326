import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InfraError, errorCatalogue, type ErrorCode } from '@infra/core';

export interface Problem {
  type: ErrorCode;
  title: string;
  status: number;
  detail: string;
  hint: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

export function problemFrom(code: ErrorCode, detail: string, extra: Partial<Problem> = {}): Problem {
  const entry = errorCatalogue[code];
  return { type: code, title: code.replace(/^INFRA_ERR_/, '').toLowerCase().replace(/_/g, ' '), status: entry.status, detail, hint: entry.hint, ...extra };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** Maps every error to RFC 9457 problem+json with a stable `type`; never leaks a stack trace. */
export function toProblem(err: FastifyError | InfraError | Error, request: FastifyRequest): Problem {
  const instance = request.url;
  if (err instanceof InfraError) {
    // A module may attach extra problem members (the allowed events of an illegal transition).
    const extra = (err as InfraError & { problemExtra?: Record<string, unknown> }).problemExtra ?? {};
    return problemFrom(err.code, err.message, { hint: err.hint, instance, ...extra, ...(err.details.length ? { errors: err.details.map((d) => ({ path: d.path ?? '', message: d.message })) } : {}) });
  }
  const fe = err as FastifyError & { validation?: { instancePath: string; message?: string; params?: Record<string, unknown> }[]; validationContext?: string };
  if (fe.validation) {
    // One entry per field: a union of literals (role: admin|user|…) fails once per branch in ajv; merge those into "must be one of".
    const byPath = new Map<string, { messages: string[]; allowed: unknown[] }>();
    for (const v of fe.validation) {
      const extra = v.params?.['additionalProperty'];
      const path = `${fe.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}${extra ? `.${String(extra)}` : ''}`;
      const entry = byPath.get(path) ?? { messages: [], allowed: [] };
      if (v.params && 'allowedValue' in v.params) entry.allowed.push(v.params['allowedValue']);
      else if (extra) entry.messages.push('unknown field');
      else if (v.message && !v.message.startsWith('must match a schema in anyOf')) entry.messages.push(v.message);
      byPath.set(path, entry);
    }
    const errors = [...byPath].map(([path, e]) => ({
      path,
      message: e.allowed.length > 0 ? `must be one of ${e.allowed.map((a) => JSON.stringify(a)).join(', ')}` : (e.messages[0] ?? 'invalid'),
    }));
    return problemFrom('INFRA_ERR_VALIDATION', `${errors.length} invalid field(s): ${errors.map((e) => e.path).join(', ')}`, { instance, errors });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemFrom('INFRA_ERR_BODY_TOO_LARGE', 'request body is larger than http.bodyLimit', { instance });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemFrom('INFRA_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported content type ${String(request.headers['content-type'])}`, { instance });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problemFrom('INFRA_ERR_MALFORMED_JSON', 'the body is not valid JSON', { instance });
  }
  if (err instanceof SyntaxError || (fe.statusCode === 400 && /JSON/i.test(err.message))) {
    return problemFrom('INFRA_ERR_MALFORMED_JSON', 'the body is not valid JSON', { instance });
  }
  if (fe.statusCode === 404) return problemFrom('INFRA_ERR_NOT_FOUND', err.message, { instance });
  return problemFrom('INFRA_ERR_INTERNAL', 'internal error', { instance, reqId: request.id });
}
