import { join } from 'node:path';
import express, { type Express } from 'express';
import { projectRoot } from '../../ivr/app/project-root.js';

/** The console's static files: plain HTML, CSS and browser ES modules, no build step. */
export const CONSOLE_DIR = join(projectRoot(), 'agent-bridge/console/public');

/**
 * Serves the agent console at `/` (index.html, console.css, the *.js
 * modules) from CONSOLE_DIR. The global `Cache-Control: no-store` stays in
 * force (serve-static's own cache header is off), so a deploy is picked up
 * on the next load; the page talks only to the same origin's /api/v1.
 */
export function mountConsole(app: Express, dir: string = CONSOLE_DIR): void {
  app.use(
    express.static(dir, {
      index: 'index.html',
      cacheControl: false,
      dotfiles: 'ignore',
      redirect: false,
      fallthrough: true,
    }),
  );
}
