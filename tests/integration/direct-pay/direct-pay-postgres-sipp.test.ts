import { directPaySuite } from './direct-pay-suite.js';

// The same SIPp suite with the payments in PostgreSQL (STORE=postgres), on a
// server tools/postgres-server.ts starts for the run.
directPaySuite('sandbox', 'embedded', 'postgres');
