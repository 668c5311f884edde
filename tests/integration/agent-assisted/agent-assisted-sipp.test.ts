import { agentAssistedSuite } from './agent-assisted-suite.js';

// The embedded media server, as `npm start` runs by default; the same suite runs on
// drachtio-server + FreeSWITCH in agent-assisted-freeswitch-sipp.test.ts.
agentAssistedSuite('embedded');
