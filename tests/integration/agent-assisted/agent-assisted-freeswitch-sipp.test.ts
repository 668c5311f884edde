import { agentAssistedSuite } from './agent-assisted-suite.js';

// Agent-assisted payments on the production media path: MEDIA_SERVER=freeswitch on
// drachtio-server + FreeSWITCH started for the run (skipped, saying why, where
// ../shared/vendor/install.sh has not installed them). Same suite as agent-assisted-sipp.test.ts.
agentAssistedSuite('freeswitch');
