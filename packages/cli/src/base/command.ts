import { Command, Flags } from '@oclif/core';
import { isInfraError } from '@infra/core/errors';

/** Flags every command that reads infra.yaml takes. */
export const stackFlags = {
  dir: Flags.string({ char: 'd', description: 'stack directory (holds infra.yaml)', default: '.' }),
  set: Flags.string({ description: 'override a config key, e.g. --set http.port=18080 (repeatable)', multiple: true, default: [] }),
};

/** Prints catalogue errors as `error CODE: message` plus the hint, never a stack trace. */
export abstract class InfraCommand extends Command {
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (isInfraError(err)) {
      if (this.jsonEnabled()) {
        this.logJson({ error: { code: err.code, message: err.message, hint: err.hint, details: err.details } });
      } else {
        const lines = [err.toLine()];
        if (err.code === 'INFRA_ERR_START_FAILED' || err.code === 'INFRA_ERR_NOT_READY') {
          for (const d of err.details) lines.push(`  | ${d.path ? `${d.path}: ` : ''}${d.message}`); // recent log lines
        } else {
          for (const d of err.details.slice(1)) lines.push(`  ${d.file && d.line ? `${d.file}:${d.line}:${d.column ?? 1}: ` : ''}${d.message}`);
        }
        if (err.hint) lines.push(`hint: ${err.hint}`);
        process.stderr.write(lines.join('\n') + '\n');
      }
      process.exitCode = 1;
      return this.exit(1);
    }
    return super.catch(err);
  }
}
