import { execFileSync } from 'node:child_process';

/**
 * Debian's xmllint (libxml2-utils), for the checks of freeswitch-config/:
 * `wellFormed` parses a file, `xpath` evaluates an XPath expression (a
 * string() expression gives a string, a node set its serialised nodes).
 */
export function wellFormed(file: string): void {
  execFileSync('xmllint', ['--noout', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The result of `expr` on `file`; '' for an empty node set. */
export function xpath(file: string, expr: string): string {
  try {
    return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    // xmllint exits 10 with "XPath set is empty".
    if ((err as { status?: number }).status === 10) return '';
    throw err;
  }
}

/** The value of `<param name="…" value="…"/>` under `scope` (an XPath to the settings element). */
export function param(file: string, scope: string, name: string): string {
  return xpath(file, `string(${scope}/param[@name='${name}']/@value)`);
}

/** The values of the attributes an XPath selects (`//node/@cidr`), in document order. */
export function attributeValues(file: string, expr: string): string[] {
  return [...xpath(file, expr).matchAll(/[\w:-]+="([^"]*)"/g)].map((m) => m[1] as string);
}
