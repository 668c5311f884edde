import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { AdyenPsp } from '../psp/adyen-psp.js';
import type { PaymentServiceProvider } from '../psp/psp-port.js';
import { SandboxPsp } from '../psp/sandbox-psp.js';
import { StripePsp } from '../psp/stripe-psp.js';
import type { PspRecordStore } from '../store/psp-record-store.js';
import type { Config } from './config.js';

/** The PSP adapter PSP names, configured from its settings (config.ts has checked the required ones). */
export function createPsp(config: Config, deps: { dataDir: string; records: PspRecordStore }): PaymentServiceProvider {
  switch (config.PSP) {
    case 'sandbox':
      return new SandboxPsp({ ledgerFile: sandboxLedger(deps.dataDir), latencyMs: config.SANDBOX_LATENCY_MS, capture: config.PSP_CAPTURE });
    case 'stripe':
      return new StripePsp({ secretKey: config.STRIPE_SECRET_KEY!, apiBase: config.STRIPE_API_BASE, capture: config.PSP_CAPTURE });
    case 'adyen':
      return new AdyenPsp({
        apiKey: config.ADYEN_API_KEY!,
        merchantAccount: config.ADYEN_MERCHANT_ACCOUNT!,
        apiBase: config.ADYEN_API_BASE,
        capture: config.PSP_CAPTURE,
        notifications: deps.records,
      });
  }
}

/** The sandbox's ledger; one left by a version that wrote `sandbox-psp-ledger.json` is taken over (SandboxPsp converts it). */
function sandboxLedger(dataDir: string): string {
  const path = join(dataDir, 'sandbox-psp-ledger.jsonl');
  const earlier = join(dataDir, 'sandbox-psp-ledger.json');
  if (!existsSync(path) && existsSync(earlier)) renameSync(earlier, path);
  return path;
}
