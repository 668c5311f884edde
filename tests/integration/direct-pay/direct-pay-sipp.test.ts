import { directPaySuite } from './direct-pay-suite.js';

// The sandbox PSP, as `npm start` runs by default. The same suite runs on the
// Stripe and Adyen adapters in direct-pay-stripe-sipp.test.ts and direct-pay-adyen-sipp.test.ts.
directPaySuite('sandbox');
