import express, { type Express } from 'express';

/**
 * Serves the agent console at `/` (index.html, console.css, the *.js
 * modules) from `dir` (agent-bridge/console/public as shipped). The global `Cache-Control: no-store` stays in
 * force (serve-static's own cache header is off), so a deploy is picked up
 * on the next load; the page talks only to the same origin's /api/v1.
 */
export function mountConsole(app: Express, dir: string): void {
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
