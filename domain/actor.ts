/**
 * Who did something to a payment: a call, an agent, a supervisor, an API key
 * or the system itself. Every audit row names one (ARCHITECTURE.md "Rules that hold
 * everywhere": who and when, for every state change).
 */
export interface Actor {
  readonly kind: 'call' | 'agent' | 'supervisor' | 'api-key' | 'system';
  readonly id: string;
}
