import { rename, writeFile } from 'node:fs/promises';

/** One pause: sample offsets into the recording and wall-clock times; `to…` null while it lasts. */
export interface RecordingPauseSpan {
  readonly fromSample: number;
  readonly from: string;
  readonly toSample: number | null;
  readonly to: string | null;
}

/**
 * The sidecar `<path>.json`. It describes the timeline only: never a digit,
 * a key or anything keyed (PCI DSS 3.3: no sensitive authentication data
 * after authorisation, in any form).
 */
export interface RecordingSidecar {
  readonly format: 'secure-ivr-recording/1';
  readonly recording: string;
  readonly sampleRate: 8000;
  /** Left: what the leg's party said (received); right: what that party heard (sent). */
  readonly channels: readonly ['received', 'sent'];
  readonly startedAt: string;
  readonly stoppedAt: string | null;
  /** Samples per channel written when the sidecar was last saved. */
  readonly samples: number;
  readonly pauses: readonly RecordingPauseSpan[];
}


/** The sidecar of the recording at `wavPath`: `<wavPath>.json`. */
export function sidecarPathOf(wavPath: string): string {
  return `${wavPath}.json`;
}

/** Writes a sidecar atomically (a temporary file, then rename), readable by its owner only. */
export async function saveRecordingSidecar(path: string, sidecar: RecordingSidecar): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, `${JSON.stringify(sidecar, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
