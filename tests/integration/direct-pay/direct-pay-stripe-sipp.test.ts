import { directPaySuite } from './direct-pay-suite.js';

// PSP=stripe, the adapter pointed (STRIPE_API_BASE) at a local Stripe API that validates every request.
directPaySuite('stripe');
