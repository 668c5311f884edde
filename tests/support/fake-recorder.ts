import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the external recorder received (the RECORDER_WEBHOOK_URL body, with when it arrived). */
export interface RecorderCall {
  readonly action: 'pause' | 'resume';
  readonly callId: string;
  readonly sessionId: string | null;
  readonly recovered?: boolean;
  readonly receivedAt: number;
}

export interface FakeRecorder {
  /** RECORDER_WEBHOOK_URL for the system under test. */
  readonly url: string;
  readonly calls: RecorderCall[];
  forSession(sessionId: string): RecorderCall[];
  close(): Promise<void>;
}

/** A contact centre's call recorder as its webhook sees it: every POST kept, 204 to each. */
export async function startFakeRecorder(): Promise<FakeRecorder> {
  const calls: RecorderCall[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push({ ...(JSON.parse(body) as Omit<RecorderCall, 'receivedAt'>), receivedAt: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/recorder`,
    calls,
    forSession: (sessionId) => calls.filter((c) => c.sessionId === sessionId),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
