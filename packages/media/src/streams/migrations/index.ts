import { init } from './0001_init.js';
import { audit } from './0002_audit.js';
import { privateStreams } from './0003_private.js';

export const streamMigrations = { module: 'streams', migrations: { '0001_init': init, '0002_audit': audit, '0003_private': privateStreams } };
