import { join } from 'node:path';
import { projectRoot } from './project-root.js';

/**
 * Data files shipped beside the code, found from package.json's folder so the
 * same paths hold from the TypeScript sources (tests) and from dist/ (npm
 * start, the Docker image). The composition root hands them to the layers
 * below, which never look for the project's root themselves.
 */
export const SHIPPED_FILES = {
  /** Recorded prompts, one folder per language (ivr/prompts/audio/<language>/<id>.wav). */
  promptAudioDir: join(projectRoot(), 'ivr/prompts/audio'),
  /** The agent console's static page: plain HTML, CSS and browser ES modules. */
  consoleDir: join(projectRoot(), 'agent-bridge/console/public'),
  /** Demo orders for ORDER_LOOKUP=file when ORDERS_FILE is unset. */
  demoOrdersFile: join(projectRoot(), 'ivr/orders/demo-orders.json'),
} as const;
