import { directPaySuite } from './direct-pay-suite.js';

// The same SIPp suite with the RTP on two media worker threads (MEDIA_WORKERS=2):
// every key method, masking, recording pauses and the 20-call load cross the
// thread boundary as they would on a many-core node.
directPaySuite('sandbox', 'embedded', 'sqlite', 2);
