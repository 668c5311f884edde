import { directPaySuite } from './direct-pay-suite.js';

// The direct pay number on the production media path: MEDIA_SERVER=freeswitch on
// drachtio-server + FreeSWITCH started for the run (skipped, saying why, where
// ../shared/vendor/install.sh has not installed them). Same suite as direct-pay-sipp.test.ts.
directPaySuite('sandbox', 'freeswitch');
