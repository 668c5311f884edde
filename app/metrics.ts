import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DtmfMethod } from '../media-server/media-server-port.js';
import { LiveHeap } from './live-heap.js';
import type { PspCallOutcome } from '../psp/authoriser.js';
import type { LinkMetrics } from '../ivr/links/link-metrics.js';
import type { CallMetrics, CallOutcome } from '../ivr/call/call-metrics.js';
import type { CaptureErrorType, CardField, EntryMode, PaymentStatus } from '../domain/payment-types.js';
import type { SmsDeliveryState } from '../domain/payment-lifecycle.js';

/** What the media server carried, read at each scrape (EmbeddedMediaServer.rtpTotals). */
export interface RtpPacketTotals {
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly late: number;
  readonly lost: number;
  /** SRTP packets discarded (RFC 3711 §3.3): the tag did not verify, or replayed / older than the window. Absent: no SRTP. */
  readonly srtp?: { readonly authenticationFailures: number; readonly replayed: number };
}

/** What the SIP stack took in and refused, read at each scrape (EmbeddedMediaServer.sipTotals); every count monotonic. */
export interface SipTotals {
  readonly messages: { readonly udp: number; readonly tcp: number };
  readonly refused: { readonly malformed: number; readonly oversized: number; readonly forbidden: number; readonly overloaded: number };
  /** Requests that reused a live transaction's Via branch with a new CSeq, served as new requests. */
  readonly branchReused: number;
  /** TCP connections closed by the server, by reason (not-allowed, too-many-connections, idle, framing...). */
  readonly tcpClosed: Readonly<Record<string, number>>;
  readonly tcpOpen: number;
  /** INVITEs from outside SIP_ALLOW with SIP_AUTH_USERS: challenged (401), authenticated, refused credentials, locked out (403). */
  readonly digest?: { readonly challenged: number; readonly authenticated: number; readonly failed: number; readonly lockedOut: number };
}

export interface MetricsOptions {
  /** Read at each scrape; without it the RTP metrics are not exported (FreeSWITCH has its own). Default: none. */
  readonly rtp?: () => RtpPacketTotals;
  /** Read at each scrape; without it the SIP metrics are not exported (drachtio has its own). Default: none. */
  readonly sip?: () => SipTotals;
  /** Read at each scrape: each /readyz check by name (true when it passes), exported as `payment_ivr_ready{check}` (in kebab case). Default: none. */
  readonly readiness?: () => Promise<Readonly<Record<string, boolean>>>;
  /** Read at each scrape: authorisations in doubt now (awaiting reconciliation), `payment_ivr_payments_in_doubt`. Default: none. */
  readonly inDoubt?: () => Promise<number>;
  /** Node.js process metrics: CPU, memory, GC, event-loop lag (`nodejs_eventloop_lag_*`). Default true. */
  readonly processMetrics?: boolean;
}

const ENTRY_MODES: readonly EntryMode[] = ['direct', 'agent-assisted'];
const DTMF_METHODS: readonly DtmfMethod[] = ['rfc4733', 'info', 'inband'];

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'payment_ivr_';

/** nodejs_gc_duration_seconds buckets (perf_hooks GC observer), in seconds. */
const GC_PAUSE_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** Answer → approval: a call takes from ~20 s (a fast keyer) to several minutes. */
const TIME_TO_PAY_BUCKETS = [10, 20, 30, 45, 60, 90, 120, 180, 300, 600];
/** A link is paid on the caller's own time: minutes to hours. */
const LINK_TIME_TO_PAY_BUCKETS = [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21_600, 86_400];
/** One PSP request: tens of milliseconds (sandbox) to the 20 s PSP_TIMEOUT_MS. */
const PSP_LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30];

/**
 * The system's Prometheus metrics: one registry per application (tests make
 * their own), fed through `CallMetrics` by the payment IVR and through
 * `pspCall` by the authoriser, with RTP totals read from the media server
 * only when scraped: nothing here runs per packet.
 *
 * Labels are only ever the fixed words of the domain (entry mode, result,
 * status, card field, error type, DTMF method, PSP name): never card data, a
 * reference, a session or call id.
 */
export class Metrics implements CallMetrics, LinkMetrics {
  readonly registry = new Registry();
  #liveHeap: LiveHeap | undefined;
  readonly #calls: Counter<'mode' | 'outcome'>;
  readonly #active: Gauge<'mode'>;
  readonly #payments: Counter<'mode' | 'status'>;
  readonly #cardPrompt: Counter<'mode'>;
  readonly #fieldErrors: Counter<'field' | 'error'>;
  readonly #keysDiscarded: Counter<'mode'>;
  readonly #dtmf: Counter<'method'>;
  readonly #timeToPay: Histogram<'mode'>;
  readonly #pspLatency: Histogram<'psp' | 'outcome'>;
  readonly #mediaWorkerGc: Histogram;
  readonly #links: Counter<'provider' | 'outcome'>;
  readonly #linkFailures: Counter<'reason'>;
  readonly #linkTimeToPay: Histogram<'provider'>;
  readonly #smsDelivery: Counter<'provider' | 'state'>;
  readonly #smsCallbacksRefused: Counter<'provider' | 'reason'>;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const name = (n: string): string => `${METRIC_PREFIX}${n}`;
    this.#calls = new Counter({
      name: name('calls_total'),
      help: 'Payment calls answered, by entry mode and how they ended (the flow result, or unknown-session)',
      labelNames: ['mode', 'outcome'],
      registers,
    });
    this.#active = new Gauge({ name: name('calls_active'), help: 'Payment calls in progress', labelNames: ['mode'], registers });
    this.#payments = new Counter({
      name: name('payments_total'),
      help: 'Payment sessions by their status when the call ended (in_doubt ones are settled later by reconciliation)',
      labelNames: ['mode', 'status'],
      registers,
    });
    this.#cardPrompt = new Counter({
      name: name('card_prompt_reached_total'),
      help: 'Calls that reached the card number prompt (conversion = payments_total{status="approved"} / this)',
      labelNames: ['mode'],
      registers,
    });
    this.#fieldErrors = new Counter({
      name: name('field_errors_total'),
      help: 'Card fields refused, by field and error type',
      labelNames: ['field', 'error'],
      registers,
    });
    this.#keysDiscarded = new Counter({
      name: name('keys_discarded_total'),
      help: 'Caller key presses discarded because no field was being collected (keyed before the prompt, or while the secure window opens): masked, never stored',
      labelNames: ['mode'],
      registers,
    });
    this.#dtmf = new Counter({
      name: name('dtmf_total'),
      help: "Callers' key presses by detection method (rfc4733, info, inband)",
      labelNames: ['method'],
      registers,
    });
    this.#timeToPay = new Histogram({
      name: name('time_to_pay_seconds'),
      help: 'From the call answered to the payment approved',
      labelNames: ['mode'],
      buckets: TIME_TO_PAY_BUCKETS,
      registers,
    });
    this.#pspLatency = new Histogram({
      name: name('psp_request_duration_seconds'),
      help: 'One authorisation request to the PSP (each retry on its own), by PSP and outcome (no-answer: timeout or network)',
      labelNames: ['psp', 'outcome'],
      buckets: PSP_LATENCY_BUCKETS,
      registers,
    });
    this.#mediaWorkerGc = new Histogram({
      name: name('media_worker_gc_duration_seconds'),
      help: 'GC pauses of the media worker threads (MEDIA_WORKERS), in the buckets of nodejs_gc_duration_seconds',
      buckets: GC_PAUSE_BUCKETS_S,
      registers,
    });
    this.#links = new Counter({
      name: name('payment_links_total'),
      help: 'Payment links by PSP and what became of them: sent (by text message), paid, expired (timed out, or closed for a keypad payment)',
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.#linkFailures = new Counter({
      name: name('payment_link_failures_total'),
      help: 'Payment links that did not go out: invalid-phone, psp (refused or no answer), sms (refused, down or no answer)',
      labelNames: ['reason'],
      registers,
    });
    this.#linkTimeToPay = new Histogram({
      name: name('payment_link_time_to_pay_seconds'),
      help: 'From the payment link sent to its payment on the PSP page',
      labelNames: ['provider'],
      buckets: LINK_TIME_TO_PAY_BUCKETS,
      registers,
    });
    this.#smsDelivery = new Counter({
      name: name('sms_delivery_reports_total'),
      help: "Text messages' delivery as their provider reported it (signed status callbacks, delivery receipts): sent, delivered, undelivered, failed",
      labelNames: ['provider', 'state'],
      registers,
    });
    this.#smsCallbacksRefused = new Counter({
      name: name('sms_callbacks_refused_total'),
      help: 'SMS status callbacks and delivery receipts refused: no-signature, bad-signature, stale, bad-request',
      labelNames: ['provider', 'reason'],
      registers,
    });
    // The conversion inputs and the small label sets start at 0, so rates exist before the first event.
    for (const mode of ENTRY_MODES) {
      this.#active.set({ mode }, 0);
      this.#cardPrompt.inc({ mode }, 0);
      this.#payments.inc({ mode, status: 'approved' }, 0);
    }
    for (const method of DTMF_METHODS) this.#dtmf.inc({ method }, 0);
    if (options.rtp) this.#rtpMetrics(options.rtp);
    if (options.sip) this.#sipMetrics(options.sip);
    if (options.readiness) this.#readinessMetric(options.readiness);
    if (options.inDoubt) this.#inDoubtMetric(options.inDoubt);
    // GC pauses in buckets from 0.5 ms: prom-client's default starts at 1 ms and jumps to 10 ms, too coarse for a p99 (the benchmark's soak reads it).
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, gcDurationBuckets: GC_PAUSE_BUCKETS_S });
      this.#liveHeapMetric();
    }
  }

  /** The exposition (text format) and its Content-Type, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  callStarted(mode: EntryMode): void {
    this.#active.inc({ mode });
  }

  callEnded(mode: EntryMode, outcome: CallOutcome): void {
    this.#active.dec({ mode });
    this.#calls.inc({ mode, outcome });
  }

  dtmf(method: DtmfMethod): void {
    this.#dtmf.inc({ method });
  }

  cardPromptReached(mode: EntryMode): void {
    this.#cardPrompt.inc({ mode });
  }

  fieldError(field: CardField, error: CaptureErrorType): void {
    this.#fieldErrors.inc({ field, error });
  }

  keyDiscarded(mode: EntryMode): void {
    this.#keysDiscarded.inc({ mode });
  }

  paymentEnded(mode: EntryMode, status: PaymentStatus): void {
    this.#payments.inc({ mode, status });
  }

  timeToPay(mode: EntryMode, seconds: number): void {
    this.#timeToPay.observe({ mode }, seconds);
  }

  linkSent(provider: string): void {
    this.#links.inc({ provider, outcome: 'sent' });
  }

  linkPaid(provider: string, seconds: number): void {
    this.#links.inc({ provider, outcome: 'paid' });
    this.#linkTimeToPay.observe({ provider }, seconds);
  }

  linkExpired(provider: string): void {
    this.#links.inc({ provider, outcome: 'expired' });
  }

  linkFailed(reason: 'invalid-phone' | 'psp' | 'sms'): void {
    this.#linkFailures.inc({ reason });
  }

  smsDelivery(provider: string, state: SmsDeliveryState): void {
    this.#smsDelivery.inc({ provider, state });
  }

  smsCallbackRefused(provider: string, reason: string): void {
    this.#smsCallbacksRefused.inc({ provider, reason });
  }

  /** A GC pause of a media worker thread (MEDIA_WORKERS); the main thread's are `nodejs_gc_duration_seconds`. */
  mediaWorkerGcPause(seconds: number): void {
    this.#mediaWorkerGc.observe(seconds);
  }

  /** The authoriser's `onPspCall`. */
  pspCall(psp: string, outcome: PspCallOutcome, seconds: number): void {
    this.#pspLatency.observe({ psp, outcome }, seconds);
  }

  /** Readiness by check, so an alert can say which dependency went (the same checks as /readyz). */
  #readinessMetric(read: () => Promise<Readonly<Record<string, boolean>>>): void {
    new Gauge({
      name: `${METRIC_PREFIX}ready`,
      help: 'Each /readyz check: 1 while it passes (store, media-server, accepting, psp)',
      labelNames: ['check'],
      registers: [this.registry],
      async collect() {
        const checks = await read();
        this.reset();
        // Label values are lower-case words like every other label here: mediaServer → media-server.
        for (const [name, ok] of Object.entries(checks)) this.set({ check: name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) }, ok ? 1 : 0);
      },
    });
  }

  #liveHeapMetric(): void {
    const heap = new LiveHeap();
    this.#liveHeap = heap;
    new Gauge({
      name: `${METRIC_PREFIX}heap_live_bytes`,
      help: 'V8 heap in use just after the latest full collection (what is kept alive; RSS and the committed heap grow with V8 heuristics, this only with a leak); 0 until one ran',
      registers: [this.registry],
      collect() {
        if (heap.bytes !== undefined) this.set(heap.bytes);
      },
    });
  }

  /** Stops observing the process (the live-heap GC observer). */
  stop(): void {
    this.#liveHeap?.stop();
  }

  #inDoubtMetric(read: () => Promise<number>): void {
    new Gauge({
      name: `${METRIC_PREFIX}payments_in_doubt`,
      help: 'Authorisations in doubt now: sent to the PSP with no answer yet, awaiting reconciliation',
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /**
   * RTP counters filled at scrape time from the media server's totals. Kept
   * monotonic: a session's "lost" can go down when a late packet fills a gap
   * (RFC 3550 §6.4.1), and a Prometheus counter never may.
   */
  #rtpMetrics(read: () => RtpPacketTotals): void {
    let last: RtpPacketTotals = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0 };
    const refresh = (): RtpPacketTotals => {
      const now = read();
      last = {
        packetsIn: Math.max(last.packetsIn, now.packetsIn),
        packetsOut: Math.max(last.packetsOut, now.packetsOut),
        late: Math.max(last.late, now.late),
        lost: Math.max(last.lost, now.lost),
      };
      return last;
    };
    const registers = [this.registry];
    new Counter({
      name: `${METRIC_PREFIX}rtp_packets_total`,
      help: 'RTP packets received (in) and sent (out) by the media server',
      labelNames: ['direction'],
      registers,
      collect() {
        const totals = refresh();
        this.reset();
        this.inc({ direction: 'in' }, totals.packetsIn);
        this.inc({ direction: 'out' }, totals.packetsOut);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}rtp_packets_late_total`,
      help: 'RTP packets received reordered, duplicated or too late for the jitter buffer',
      registers,
      collect() {
        this.reset();
        this.inc(refresh().late);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}rtp_packets_lost_total`,
      help: 'RTP packets never received (sequence gaps)',
      registers,
      collect() {
        this.reset();
        this.inc(refresh().lost);
      },
    });
    // Read directly: both only ever grow (a closed session's are kept in the server's totals).
    new Counter({
      name: `${METRIC_PREFIX}srtp_packets_discarded_total`,
      help: 'SRTP packets discarded, by reason: authentication (the tag did not verify: a wrong key, tampering, plain RTP) or replay (replayed or older than the replay window), RFC 3711 §3.3',
      labelNames: ['reason'],
      registers,
      collect() {
        const srtp = read().srtp;
        this.reset();
        if (!srtp) return;
        this.inc({ reason: 'authentication' }, srtp.authenticationFailures);
        this.inc({ reason: 'replay' }, srtp.replayed);
      },
    });
  }
  /**
   * SIP counters filled at scrape time: what each transport delivered, what
   * was refused and why (malformed, oversized, outside SIP_ALLOW,
   * over the transaction cap), requests served despite a reused Via branch,
   * and the TCP connections the caps closed.
   */
  #sipMetrics(read: () => SipTotals): void {
    const registers = [this.registry];
    const counter = (name: string, help: string, value: (t: SipTotals) => number): void => {
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value(read()));
        },
      });
    };
    const labelledCounter = (name: string, help: string, label: string, values: (t: SipTotals) => Readonly<Record<string, number>>): void => {
      new Counter({
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          for (const [value, n] of Object.entries(values(read()))) this.inc({ [label]: value }, n);
        },
      });
    };
    labelledCounter('sip_messages_total', 'SIP messages received, by transport (framed and within the size cap, before parsing)', 'transport', (t) => t.messages);
    counter('sip_messages_malformed_total', 'SIP messages the parser refused (answered 400, or dropped when unanswerable)', (t) => t.refused.malformed);
    counter('sip_datagrams_oversized_total', 'UDP datagrams over SIP_UDP_MAX_MESSAGE_BYTES, dropped unread', (t) => t.refused.oversized);
    counter('sip_messages_forbidden_total', 'SIP messages from outside SIP_ALLOW (requests answered 403)', (t) => t.refused.forbidden);
    counter('sip_requests_overloaded_total', 'New SIP requests answered 503 because the server-transaction cap was reached', (t) => t.refused.overloaded);
    counter('sip_requests_branch_reused_total', 'SIP requests that reused a live transaction\'s Via branch with a new CSeq (a SIPp loop), served as new requests', (t) => t.branchReused);
    labelledCounter(
      'sip_tcp_connections_closed_total',
      'SIP TCP connections the server closed, by reason (not-allowed, too-many-connections, too-many-from-source, idle, framing, write-backlog)',
      'reason',
      (t) => t.tcpClosed,
    );
    labelledCounter(
      'sip_digest_invites_total',
      'INVITEs from outside SIP_ALLOW with SIP_AUTH_USERS, by outcome: challenged (401), authenticated, failed (credentials refused), locked-out (403)',
      'outcome',
      (t): Readonly<Record<string, number>> =>
        t.digest ? { challenged: t.digest.challenged, authenticated: t.digest.authenticated, failed: t.digest.failed, 'locked-out': t.digest.lockedOut } : {},
    );
    new Gauge({
      name: `${METRIC_PREFIX}sip_tcp_connections`,
      help: 'SIP TCP connections open now',
      registers,
      collect() {
        this.set(read().tcpOpen);
      },
    });
  }
}
