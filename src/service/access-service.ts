// The access flow: requests, decisions, activation, expiry. Slack and BullMQ call in; the store holds the truth;
// every change to a jump server goes through JumpHostSync.
import type { Logger } from 'pino';
import type { Policy } from '../config/policy.ts';
import { checkDecider, evaluateRequest } from '../domain/access-policy.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import { authorize, type Action } from '../domain/authorization.ts';
import type { Clock } from '../domain/clock.ts';
import { HELP_TEXT, parseCommand, type JumpCommand } from '../domain/command.ts';
import { connectInstructions } from '../domain/connect-instructions.ts';
import { formatDuration } from '../domain/duration.ts';
import { randomRequestId, REQUEST_ID_PATTERN, type IdGenerator } from '../domain/ids.ts';
import { checkUserPublicKey, PRIVATE_KEY_MESSAGE } from '../domain/public-key.ts';
import type { AccessRequest, RequestState } from '../domain/request-state.ts';
import { echo, escapeMrkdwn } from '../domain/user-text.ts';
import type { JumpHostSync } from '../jumphost/jump-host-sync.ts';
import type { KeyStore } from '../store/key-store.ts';
import type { RateLimiter, RateLimitKind } from '../store/rate-limit.ts';
import type { RequestStore } from '../store/request-store.ts';
import type { JobScheduler, Notifier, OwnerDirectory } from './ports.ts';

/** What the caller sees at once (ephemeral), and work to do after Slack has been answered. */
export interface Outcome {
  reply?: string;
  after?: () => Promise<void>;
}

export interface AccessServiceDeps {
  policy: Policy;
  requests: RequestStore;
  keys: KeyStore;
  sync: JumpHostSync;
  jobs: JobScheduler;
  notifier: Notifier;
  owners: OwnerDirectory;
  clock: Clock;
  logger: Logger;
  newId?: IdGenerator;
  /** per-person rate limits (policy limits); without one nothing is rate-limited */
  limiter?: RateLimiter;
  /** how long an activation follow-up may run before another replica may take it over */
  activationLeaseMs?: number;
}

const STATE_WORDS: Record<RequestState, string> = {
  pending: 'waiting for approval',
  active: 'active',
  expired: 'expired',
  revoked: 'revoked',
  denied: 'denied',
  cancelled: 'cancelled',
  'timed-out': 'timed out',
  failed: 'failed',
};

const SELF_SERVICE: Partial<Record<JumpCommand['kind'], Action>> = {
  help: 'help',
  list: 'list',
  'key-show': 'key-show',
  'key-add': 'key-add',
  'key-remove': 'key-remove',
  request: 'request',
};

export class AccessService {
  private readonly newId: IdGenerator;

  constructor(private readonly d: AccessServiceDeps) {
    this.newId = d.newId ?? randomRequestId;
  }

  /** Entry point for `/jump <text>`. */
  async command(user: string, text: string): Promise<Outcome> {
    const cmd = parseCommand(text, this.d.policy.limits.maxCommandLength);
    // Self-service commands go through the same table as decisions (actions on a request check it with the request).
    const selfService = SELF_SERVICE[cmd.kind];
    if (selfService) {
      const allowed = authorize(selfService, { actor: user });
      if (!allowed.ok) return this.refuseCaller(user, selfService, allowed.message, allowed.message);
    }
    switch (cmd.kind) {
      case 'private-key':
        // The text is dropped here: never logged, stored or echoed. The person is told to rotate the key.
        return this.refuseCaller(user, 'key-add', 'a private key was pasted (not stored); the person was told to rotate it', PRIVATE_KEY_MESSAGE);
      case 'help':
        return { reply: HELP_TEXT };
      case 'invalid':
        return { reply: cmd.message };
      case 'key-show':
        return this.showKey(user);
      case 'key-add':
        return this.addKey(user, cmd.keyText);
      case 'key-remove':
        return this.removeKey(user);
      case 'request':
        return this.request(user, cmd.host, cmd.duration, cmd.reason);
      case 'list':
        return this.list(user);
      case 'revoke':
        return this.revokeOrCancel(user, cmd.id);
    }
  }

  private async showKey(user: string): Promise<Outcome> {
    const key = await this.d.keys.get(user);
    if (!key) return { reply: 'You have no key registered. Add one: `/jump key add ssh-ed25519 AAAA… you@laptop`.' };
    return { reply: `Your registered key: ${key.type} \`${key.fingerprint}\` (added ${new Date(key.addedAt).toISOString()}).` };
  }

  private async addKey(user: string, keyText: string): Promise<Outcome> {
    const check = checkUserPublicKey(keyText, { minRsaBits: this.d.policy.keys.minRsaBits });
    if (!check.ok) {
      // The text is never logged: it may be a private key.
      this.d.logger.info({ user, privateKeyPasted: check.privateKeyPasted ?? false }, 'key refused');
      return { reply: check.message };
    }
    const limited = await this.rateLimit('key-change', user);
    if (limited) return limited;
    const result = await this.d.keys.set(user, check.key, this.d.clock.now());
    if (!result.ok) return { reply: 'That key is already registered to someone else. Each person needs their own key pair.' };
    const reply = `${result.replaced ? 'Key replaced' : 'Key registered'}: ${check.key.type} \`${check.key.fingerprint}\`.`;
    if (!result.replaced) return { reply };
    // Active grants now render with the new key; the old key loses access at once.
    return {
      reply: `${reply} Your active grants now use this key.`,
      after: async () => {
        const active = (await this.d.requests.recentForUser(user, 200)).filter((r) => r.state === 'active');
        await Promise.all([...new Set(active.map((r) => r.jumpHost))].map((j) => this.d.sync.sync(j)));
      },
    };
  }

  /** `/jump key remove`: the key goes, and with it every line of the person's active grants. */
  private async removeKey(user: string): Promise<Outcome> {
    const limited = await this.rateLimit('key-change', user);
    if (limited) return limited;
    const result = await this.d.keys.remove(user, this.d.clock.now());
    if (!result.removed) return { reply: 'You have no key registered; nothing to remove.' };
    const active = (await this.d.requests.recentForUser(user, 200)).filter((r) => r.state === 'active');
    const note = active.length > 0 ? ` Your ${active.length} active grant(s) no longer work; register a key again to use them.` : '';
    return {
      reply: `Key \`${result.fingerprint}\` removed.${note}`,
      after: async () => {
        await Promise.all([...new Set(active.map((r) => r.jumpHost))].map((j) => this.d.sync.sync(j)));
      },
    };
  }

  private async request(user: string, hostName: string, duration: string | undefined, reason: string): Promise<Outcome> {
    const hasKey = (await this.d.keys.get(user)) !== undefined;
    const decision = evaluateRequest(this.d.policy, { hostName, duration, reason, hasKey });
    if (!decision.ok) return { reply: decision.message };
    // Every attempt counts against the rate limit, one refused by the pending cap too.
    const limited = await this.rateLimit('request', user);
    if (limited) return limited;
    const { host, durationMs, requiredApprovals } = decision.value;
    const now = this.d.clock.now();
    const req: AccessRequest = {
      id: this.newId(),
      requester: user,
      host: host.name,
      jumpHost: host.jumpHost,
      durationMs,
      reason: decision.value.reason,
      state: 'pending',
      createdAt: now,
      requiredApprovals,
      approvers: [],
    };
    const maxPending = this.d.policy.limits.maxPendingRequests;
    const created = await this.d.requests.createWithinCap(req, this.event('requested', req, { actor: user, durationMs, reason: req.reason }), maxPending);
    if (!created.ok)
      return {
        reply: `You already have ${created.pending} request(s) waiting for approval (at most ${maxPending}). Cancel one with \`/jump revoke <id>\` or wait for a decision.`,
      };
    await this.d.jobs.schedule('timeout', req.id, now + this.d.policy.defaults.approvalTimeout, now);
    const approvals = requiredApprovals > 1 ? ` (${requiredApprovals} approvals needed)` : '';
    return {
      reply: `Request \`${req.id}\` for *${host.name}* for ${formatDuration(durationMs)} sent to its owners${approvals}. You will get a DM when it is decided.`,
      after: async () => {
        const owners = [...(await this.d.owners.expand(host.owners))].filter((o) => o !== user);
        const refs = await this.d.notifier.postApprovalRequest(req, owners);
        await this.d.requests.addMessageRefs(req.id, refs);
      },
    };
  }

  /** An owner clicked Approve. */
  async approve(requestId: string, actor: string): Promise<Outcome> {
    if (!REQUEST_ID_PATTERN.test(requestId)) return { reply: 'That request no longer exists.' };
    const req = await this.d.requests.get(requestId);
    if (!req) return { reply: 'That request no longer exists.' };
    const hostCfg = this.d.policy.hosts.find((h) => h.name === req.host);
    const owners = await this.d.owners.expand(hostCfg?.owners ?? []);
    const allowed = checkDecider(req, actor, owners, 'approve');
    if (!allowed.ok) return this.refuse(req, actor, 'approve', allowed.message);
    const result = await this.d.requests.approve(req, actor, this.d.clock.now());
    switch (result.outcome) {
      case 'missing':
        return { reply: 'That request no longer exists.' };
      case 'self':
        return this.refuse(req, actor, 'approve', 'You cannot approve your own request.');
      case 'duplicate':
        return { reply: 'You already approved this request.' };
      case 'conflict':
        return { reply: `This request is already ${STATE_WORDS[result.state]}.` };
      case 'recorded':
        return {
          reply: `Approval recorded (${result.approvals} of ${req.requiredApprovals}).`,
          after: () => this.refreshMessages(req.id),
        };
      case 'activated':
        return { after: () => this.activate(req.id, result.expiresAt) };
    }
  }

  /** Installs an activated grant (the approval that activated it was won by this replica). */
  private async activate(requestId: string, _expiresAt: number): Promise<void> {
    await this.completeActivation(requestId);
  }

  /**
   * The work owed once a grant is active: its end is scheduled before the key goes on the server, then sync,
   * then exactly one activation message to the requester (the connect instructions, or why there are none).
   * Run by the replica that won the approval; if that one dies, its lease runs out and the reconciler runs it.
   * Idempotent: jobs have fixed ids, the sync renders from the store, and the activation stays owed (in the
   * store's activating index) until the message is sent.
   */
  async completeActivation(requestId: string): Promise<void> {
    await this.d.requests.withActivationLease(requestId, this.d.activationLeaseMs ?? 30_000, () => this.followUpActivation(requestId));
  }

  private async followUpActivation(requestId: string): Promise<void> {
    const { requests, jobs, clock, policy, logger } = this.d;
    const req = await requests.get(requestId);
    if (!req) return requests.finishActivation(requestId);
    let current: AccessRequest = req;
    if (req.state === 'active' && req.expiresAt !== undefined) {
      const now = clock.now();
      const expiresAt = req.expiresAt;
      await jobs.schedule('revoke', requestId, expiresAt, now);
      const warnAt = expiresAt - policy.defaults.expiryWarning;
      // Bookkeeping that does not gate access runs beside the sync.
      const bookkeeping = Promise.all([
        jobs.cancel('timeout', requestId),
        // Only grants long enough for the warning to mean something get one (not a 5-minute grant warned at once).
        expiresAt - now > 2 * policy.defaults.expiryWarning ? jobs.schedule('expiry-warning', requestId, warnAt, now) : undefined,
      ]).catch((err: unknown) => logger.warn({ err, requestId }, 'could not update jobs after activation'));
      try {
        const result = await this.d.sync.sync(req.jumpHost);
        if (!result.grantIds.includes(req.id) && (await requests.get(req.id))?.state === 'active' && expiresAt > clock.now())
          throw new Error('grant not rendered (key missing or host no longer in policy)');
      } catch (err) {
        logger.error({ err, requestId }, 'activation failed');
        const failed = await requests.transition(req, 'failed', this.event('failed', req, { detail: String((err as Error).message).slice(0, 200) }), {
          endedAt: clock.now(),
        });
        if (failed.ok) await this.d.sync.sync(req.jumpHost).catch(() => undefined); // take out anything half-installed
      }
      await bookkeeping;
      current = (await requests.get(requestId)) ?? req;
    }
    // A replica that died after sending but before finishing leaves an attempt behind: look before sending again.
    const attempt = await requests.activationMessageAttempt(requestId);
    if (attempt === 1 || !(await this.d.notifier.activationMessageSent?.(current))) await this.sendActivationMessage(current);
    // Sent: finishing must not be lost to a Redis blip, or the reconciler would send it again.
    await retrying(() => requests.finishActivation(requestId), 30_000);
    await this.refreshMessages(requestId);
  }

  private async sendActivationMessage(req: AccessRequest): Promise<void> {
    const host = this.d.policy.hosts.find((h) => h.name === req.host);
    if (req.state === 'active' && host) {
      await this.d.notifier.sendConnectInstructions(req, connectInstructions(host, this.d.sync.jumpHost(req.jumpHost)));
    } else if (req.state === 'failed') {
      await this.d.notifier.notifyUser(req.requester, `Access to *${req.host}* (\`${req.id}\`) was approved, but installing your key on the jump server failed. Please try again later.`);
    } else {
      await this.d.notifier.notifyUser(req.requester, `Access to *${req.host}* (\`${req.id}\`) was approved, but it is already ${STATE_WORDS[req.state]}: no connect instructions.`);
    }
  }

  /** An owner clicked Deny: may they? (The reason is asked for next, in a modal.) */
  async prepareDeny(requestId: string, actor: string): Promise<{ ok: true; host: string } | { ok: false; reply: string }> {
    if (!REQUEST_ID_PATTERN.test(requestId)) return { ok: false, reply: 'That request no longer exists.' };
    const req = await this.d.requests.get(requestId);
    if (!req) return { ok: false, reply: 'That request no longer exists.' };
    if (req.state !== 'pending') return { ok: false, reply: `This request is already ${STATE_WORDS[req.state]}.` };
    const hostCfg = this.d.policy.hosts.find((h) => h.name === req.host);
    const allowed = checkDecider(req, actor, await this.d.owners.expand(hostCfg?.owners ?? []), 'deny');
    if (!allowed.ok) return { ok: false, reply: (await this.refuse(req, actor, 'deny', allowed.message)).reply! };
    return { ok: true, host: req.host };
  }

  /** An owner clicked Deny and gave a reason. */
  async deny(requestId: string, actor: string, reason: string): Promise<Outcome> {
    if (!REQUEST_ID_PATTERN.test(requestId)) return { reply: 'That request no longer exists.' };
    const req = await this.d.requests.get(requestId);
    if (!req) return { reply: 'That request no longer exists.' };
    const hostCfg = this.d.policy.hosts.find((h) => h.name === req.host);
    const allowed = checkDecider(req, actor, await this.d.owners.expand(hostCfg?.owners ?? []), 'deny');
    if (!allowed.ok) return this.refuse(req, actor, 'deny', allowed.message);
    const denyReason = reason.trim().slice(0, this.d.policy.limits.maxReasonLength);
    const t = await this.d.requests.transition(req, 'denied', this.event('denied', req, { actor, reason: denyReason }), {
      decidedBy: actor,
      denyReason,
      endedAt: this.d.clock.now(),
    });
    if (!t.ok) return { reply: `This request is already ${STATE_WORDS[t.state ?? 'pending']}.` };
    return {
      after: async () => {
        await this.d.jobs.cancel('timeout', req.id);
        await this.d.notifier.notifyUser(req.requester, `Your request \`${req.id}\` for *${req.host}* was denied by <@${actor}>${denyReason ? `: ${escapeMrkdwn(denyReason)}` : '.'}`);
        await this.refreshMessages(req.id);
      },
    };
  }

  /** `/jump revoke <id>`: the requester ends their grant or cancels their pending request; owners may revoke too. */
  private async revokeOrCancel(actor: string, id: string): Promise<Outcome> {
    if (!REQUEST_ID_PATTERN.test(id)) return { reply: `"${echo(id, 30)}" is not a request id. See \`/jump list\`.` };
    const req = await this.d.requests.get(id);
    const notYours = { reply: `No request \`${id}\` of yours. See \`/jump list\`.` };
    if (!req) return notYours;
    const hostCfg = this.d.policy.hosts.find((h) => h.name === req.host);
    const owners = hostCfg ? await this.d.owners.expand(hostCfg.owners) : new Set<string>();
    const action: Action = req.state === 'pending' ? 'cancel' : 'revoke';
    const allowed = authorize(action, { actor, requester: req.requester, owners, host: req.host });
    // Someone else's request: audited, and answered as if it did not exist (ids are not an oracle).
    if (!allowed.ok) return { ...(await this.refuse(req, actor, action, allowed.message)), reply: notYours.reply };
    const now = this.d.clock.now();
    if (req.state === 'pending') {
      const t = await this.d.requests.transition(req, 'cancelled', this.event('cancelled', req, { actor }), { decidedBy: actor, endedAt: now });
      if (!t.ok) return { reply: `This request is already ${STATE_WORDS[t.state ?? 'pending']}.` };
      return { reply: `Request \`${id}\` cancelled.`, after: () => this.refreshMessages(id) };
    }
    const t = await this.d.requests.transition(req, 'revoked', this.event('revoked', req, { actor }), { decidedBy: actor, endedAt: now });
    if (!t.ok) return { reply: `Request \`${id}\` is ${STATE_WORDS[t.state ?? req.state]}; nothing to revoke.` };
    return {
      reply: `Access \`${id}\` to *${req.host}* revoked.`,
      after: async () => {
        await this.d.sync.sync(req.jumpHost);
        await this.d.jobs.cancel('revoke', id);
        if (actor !== req.requester) await this.d.notifier.notifyUser(req.requester, `Your access to *${req.host}* (\`${id}\`) was revoked by <@${actor}>.`);
        await this.refreshMessages(id);
      },
    };
  }

  private async list(user: string): Promise<Outcome> {
    const recent = await this.d.requests.recentForUser(user, 20);
    const open = recent.filter((r) => r.state === 'pending' || r.state === 'active');
    if (open.length === 0) return { reply: 'You have no pending requests or active grants.' };
    const lines = open.map((r) =>
      r.state === 'active'
        ? `• \`${r.id}\` *${r.host}* active until ${new Date(r.expiresAt!).toISOString()}`
        : `• \`${r.id}\` *${r.host}* ${formatDuration(r.durationMs)} waiting for approval (${r.approvers.length} of ${r.requiredApprovals})`,
    );
    return { reply: lines.join('\n') };
  }

  /** BullMQ: the grant's time is up. Idempotent. */
  async expire(requestId: string): Promise<void> {
    const req = await this.d.requests.get(requestId);
    if (!req) return;
    const t = await this.d.requests.transition(req, 'expired', this.event('expired', req, {}), { endedAt: this.d.clock.now() });
    if (t.ok) {
      // Already true on the jump server: an expired grant is never rendered and sshd enforces expiry-time.
      await this.d.notifier.notifyUser(req.requester, `Your access to *${req.host}* (\`${req.id}\`) has expired. Request again with \`/jump request ${req.host}\`.`);
      await this.refreshMessages(req.id);
    }
    // Sync even if another path already ended it: this may be a retry after a failed sync; a throw retries the job.
    await this.d.sync.sync(req.jumpHost);
  }

  /** BullMQ: nobody decided in time. */
  async timeOut(requestId: string): Promise<void> {
    const req = await this.d.requests.get(requestId);
    if (!req) return;
    const t = await this.d.requests.transition(req, 'timed-out', this.event('timed-out', req, {}), { endedAt: this.d.clock.now() });
    if (!t.ok) return;
    await this.d.notifier.notifyUser(req.requester, `Your request \`${req.id}\` for *${req.host}* timed out without a decision.`);
    await this.refreshMessages(req.id);
  }

  async expiryWarning(requestId: string): Promise<void> {
    const req = await this.d.requests.get(requestId);
    if (!req || req.state !== 'active' || req.expiresAt === undefined) return;
    const left = req.expiresAt - this.d.clock.now();
    if (left <= 0) return;
    await this.d.notifier.notifyUser(req.requester, `Your access to *${req.host}* (\`${req.id}\`) ends in ${formatDuration(left)}.`);
  }

  private async refreshMessages(requestId: string): Promise<void> {
    const [req, refs] = await Promise.all([this.d.requests.get(requestId), this.d.requests.messageRefs(requestId)]);
    if (req) await this.d.notifier.updateApprovalMessages(req, refs);
  }

  private async refuse(req: AccessRequest, actor: string, action: Action, message: string): Promise<Outcome> {
    this.d.logger.info({ requestId: req.id, actor, action }, 'action refused');
    await this.d.requests.appendAudit(this.event('refused', req, { actor, detail: `${action}: ${message}` }));
    return { reply: message };
  }

  /**
   * A refusal that concerns no request (another workspace, a pasted private key, a rate limit): audited with
   * `detail` (never with the text that was sent), answered with `reply`.
   */
  async refuseCaller(actor: string, action: Action | 'slack-request', detail: string, reply: string): Promise<Outcome> {
    this.d.logger.info({ actor, action, detail }, 'caller refused');
    await this.d.requests.appendAudit({ type: 'refused', at: this.d.clock.now(), actor, detail: `${action}: ${detail}` });
    return { reply };
  }

  /** Takes one slot of the person's rate limit; a refusal to send when none is left (audited once per window). */
  private async rateLimit(kind: RateLimitKind, user: string): Promise<Outcome | undefined> {
    if (!this.d.limiter) return undefined;
    const { limits } = this.d.policy;
    const limit = kind === 'request' ? limits.requestsPerWindow : limits.keyChangesPerWindow;
    const r = await this.d.limiter.take(kind, user, limit, limits.window, this.d.clock.now());
    if (r.ok) return undefined;
    const what = kind === 'request' ? 'requests' : 'key changes';
    const reply = `Too many ${what}: at most ${limit} per ${formatDuration(limits.window)}. Try again in ${formatDuration(Math.ceil(r.retryAfterMs / 1000) * 1000)}.`;
    if (!r.firstRefusal) return { reply };
    return this.refuseCaller(user, kind === 'request' ? 'request' : 'key-add', `rate limit: more than ${limit} ${what} per ${formatDuration(limits.window)}`, reply);
  }

  private event(type: AuditEvent['type'], req: AccessRequest, extra: Partial<AuditEvent>): AuditEvent {
    return { type, at: this.d.clock.now(), requestId: req.id, requester: req.requester, host: req.host, ...extra };
  }
}

/** Retries `op` (a Redis write that must land) every 200 ms for up to `ms`. */
async function retrying(op: () => Promise<void>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
