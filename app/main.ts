import './file-system-threads.js';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { scrubPans } from '../domain/pan-scrubber.js';
import { buildApplication } from './application.js';

/**
 * `npm start`: the whole system on its embedded defaults. A bad setting stops
 * the process with one line naming it (and never its value if it is secret).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const app = await buildApplication({ config, logger, dataDir });
  logger.info(
    { http: app.httpUrl, payNumber: `sip:${config.PAY_NUMBER}@${config.SIP_HOST}:${app.sipPort}`, dataDir },
    'secure payment IVR started',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    app
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(scrubPans(`fatal: ${err instanceof Error ? err.message : String(err)}\n`));
  process.exit(1);
});
