import { directPaySuite } from './direct-pay-suite.js';

// PSP=adyen, the adapter pointed (ADYEN_API_BASE) at a local Adyen Checkout API that validates every
// request and sends signed webhooks back to the system.
directPaySuite('adyen');
