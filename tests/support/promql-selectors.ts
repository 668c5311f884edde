/** One series selector of a PromQL expression: the metric name and the labels it matches on. */
export interface PromSelector {
  readonly metric: string;
  readonly labels: readonly string[];
}

/** PromQL's functions are recognised by their `(`; these words are the rest of the language that can stand alone. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The series selectors of a PromQL expression, enough to check the names a
 * dashboard or a rule file relies on: `name{label="v"}` and bare `name`;
 * grouping clauses (`by (…)`, `on (…)`), ranges, numbers and function
 * names are not selectors. Throws on a selector without a metric name.
 */
export function promSelectors(expr: string): PromSelector[] {
  const found: PromSelector[] = [];
  let rest = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  rest = rest.replace(/([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, matchers: string) => {
    if (!metric) throw new Error(`selector without a metric name in ${expr}`);
    found.push({ metric, labels: [...matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"/g)].map((m) => m[1] as string) });
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ').replace(/"(?:[^"\\]|\\.)*"/g, ' ');
  for (const match of rest.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match as unknown as [string, string, string | undefined];
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    found.push({ metric: name, labels: [] });
  }
  return found;
}
