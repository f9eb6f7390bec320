// Prometheus metrics (prom-client), one registry per broker: GET /metrics. The parts report through the small
// `Observer` interface below (declared here, implemented here, a no-op where nobody listens), so none of them
// depends on prom-client. Values that live in Redis (active grants, the audit backlog, the last reconcile) are
// read when Prometheus scrapes, through the readers the composition root passes in.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the broker's parts tell the metrics. Every method is cheap and never throws. */
export interface Observer {
  /** an audit event was handed to the audit channel (each event once across replicas: the forwarder's group) */
  auditEvent(type: string): void;
  /** one sync of a jump server's block finished (`error`: it failed after its retries) */
  syncFinished(jumpHost: string, seconds: number, error: boolean): void;
  /** a grant's line reached the jump server this long after the grant became active */
  lineInstalled(seconds: number): void;
  /** a grant's line left the jump server this long after the grant ended */
  lineRemoved(reason: 'expired' | 'revoked' | 'other', seconds: number): void;
  /** what one reconcile pass repaired, by kind */
  reconciled(repairs: Record<(typeof REPAIR_KINDS)[number], number>): void;
  /** a Slack Web API call failed (after its retries) */
  slackApiError(method: string, error: string): void;
}

export const noObserver: Observer = {
  auditEvent: () => undefined,
  syncFinished: () => undefined,
  lineInstalled: () => undefined,
  lineRemoved: () => undefined,
  reconciled: () => undefined,
  slackApiError: () => undefined,
};

/** The request decisions among the audit event types: `jit_requests_total{outcome}`. */
const REQUEST_OUTCOMES = new Set(['requested', 'approved', 'auto-approved', 'break-glass', 'denied', 'timed-out', 'cancelled', 'failed', 'refused']);

/** What a reconcile pass can repair (broker-health.ts repairsOf). */
export const REPAIR_KINDS = ['timed_out', 'expired', 'activation_finished', 'retired', 'block_rewritten'] as const;

/** Read from Redis at scrape time. */
export interface ScrapeReaders {
  /** active grants per host */
  activeGrants(): Promise<Map<string, number>>;
  /** audit events not yet posted to the audit channel (read by no replica, or read and not acknowledged) */
  auditBacklog(): Promise<number>;
  /** when the last reconcile pass (any replica) finished, ms since the epoch */
  lastReconcile(): Promise<number | undefined>;
}

// Latencies the product promises in milliseconds to seconds (approval → line, revocation lag).
const LATENCY_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class BrokerMetrics implements Observer {
  readonly registry = new Registry();
  private readonly requests: Counter<'outcome'>;
  private readonly events: Counter<'type'>;
  private readonly syncSeconds: Histogram<'jump_host'>;
  private readonly syncErrors: Counter<'jump_host'>;
  private readonly jumpHostUp: Gauge<'jump_host'>;
  private readonly approvalToLine: Histogram;
  private readonly revocationLag: Histogram<'reason'>;
  private readonly repairs: Counter<'kind'>;
  private readonly slackErrors: Counter<'method' | 'error'>;
  private readonly lastSync = new Map<string, 'up' | 'down'>();

  constructor(readers?: ScrapeReaders, jumpHosts: readonly string[] = []) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'jit_requests_total', help: 'Access requests by outcome (audit events of requests and decisions)', labelNames: ['outcome'], registers });
    this.events = new Counter({ name: 'jit_audit_events_total', help: 'Audit events posted, by type', labelNames: ['type'], registers });
    this.syncSeconds = new Histogram({ name: 'jit_sync_duration_seconds', help: 'One sync of a jump server block (render, compare, write if different)', labelNames: ['jump_host'], buckets: LATENCY_BUCKETS, registers });
    this.syncErrors = new Counter({ name: 'jit_sync_errors_total', help: 'Syncs of a jump server that failed after their retries', labelNames: ['jump_host'], registers });
    this.jumpHostUp = new Gauge({ name: 'jit_jump_host_up', help: '1 if the last sync of the jump server succeeded, 0 if it failed', labelNames: ['jump_host'], registers });
    this.approvalToLine = new Histogram({ name: 'jit_approval_to_line_seconds', help: 'Grant activation (last approval) to its key line written on the jump server', buckets: LATENCY_BUCKETS, registers });
    this.revocationLag = new Histogram({ name: 'jit_revocation_lag_seconds', help: 'Grant end (expiry or revocation) to its key line gone from the jump server', labelNames: ['reason'], buckets: LATENCY_BUCKETS, registers });
    this.repairs = new Counter({ name: 'jit_reconcile_repairs_total', help: 'What reconcile passes repaired, by kind', labelNames: ['kind'], registers });
    this.slackErrors = new Counter({ name: 'jit_slack_api_errors_total', help: 'Slack Web API calls that failed after retries, by method and error', labelNames: ['method', 'error'], registers });
    // A series from the start (rate() and alerts need one before the first event).
    for (const j of jumpHosts) this.syncErrors.inc({ jump_host: j }, 0);
    for (const kind of REPAIR_KINDS) this.repairs.inc({ kind }, 0);
    if (!readers) return;
    new Gauge({
      name: 'jit_active_grants',
      help: 'Active grants per host',
      labelNames: ['host'],
      registers,
      async collect() {
        this.reset();
        for (const [host, n] of await readers.activeGrants()) this.set({ host }, n);
      },
    });
    new Gauge({
      name: 'jit_audit_backlog',
      help: 'Audit events stored but not yet posted to the audit channel',
      registers,
      async collect() {
        this.set(await readers.auditBacklog());
      },
    });
    new Gauge({
      name: 'jit_reconcile_last_run_timestamp_seconds',
      help: 'When the last reconcile pass of any replica finished',
      registers,
      async collect() {
        const at = await readers.lastReconcile();
        if (at !== undefined) this.set(at / 1000);
      },
    });
  }

  auditEvent(type: string): void {
    this.events.inc({ type });
    if (REQUEST_OUTCOMES.has(type)) this.requests.inc({ outcome: type });
  }

  syncFinished(jumpHost: string, seconds: number, error: boolean): void {
    this.syncSeconds.observe({ jump_host: jumpHost }, seconds);
    this.jumpHostUp.set({ jump_host: jumpHost }, error ? 0 : 1);
    this.lastSync.set(jumpHost, error ? 'down' : 'up');
    if (error) this.syncErrors.inc({ jump_host: jumpHost });
  }

  lineInstalled(seconds: number): void {
    this.approvalToLine.observe(Math.max(0, seconds));
  }

  lineRemoved(reason: 'expired' | 'revoked' | 'other', seconds: number): void {
    this.revocationLag.observe({ reason }, Math.max(0, seconds));
  }

  reconciled(repairs: Record<(typeof REPAIR_KINDS)[number], number>): void {
    for (const [kind, n] of Object.entries(repairs)) this.repairs.inc({ kind }, n);
  }

  slackApiError(method: string, error: string): void {
    this.slackErrors.inc({ method, error });
  }

  /** the last sync of this replica to the jump server: up, down (failed after retries), or not synced yet */
  jumpHostStatus(jumpHost: string): string {
    return this.lastSync.get(jumpHost) ?? 'not synced yet';
  }

  /** The Prometheus text exposition, and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
