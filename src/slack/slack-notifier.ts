// Tells people about domain events through the Slack Web API: DMs, the approval message and its updates, the
// audit channel. Every message carries metadata (message-metadata.ts); the words come from messages.ts.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { AuditPoster } from '../audit/audit-forwarder.ts';
import type { DigestPoster } from '../audit/daily-digest.ts';
import type { AuditDigest } from '../domain/audit-digest.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import type { Policy } from '../domain/policy.ts';
import type { AccessRequest, MessageRef } from '../domain/request-state.ts';
import type { RequestStep } from '../domain/request-step.ts';
import type { Notifier } from '../service/ports.ts';
import { auditMetadata, digestMetadata, EVENT_TYPES, metadataOf, requestMetadata, requestStepMetadata, type EventType, type MessageMetadata } from './message-metadata.ts';
import { approvalMessage, auditLine, connectMessage, reminderText, requesterMessages, requesterTexts, type ApprovalAsk } from './messages.ts';
import { digestText } from './digest-message.ts';
import { stepMessage } from './thread-messages.ts';
import { DmChannels } from './dm-channels.ts';

type Posted = { text: string; blocks?: unknown[]; metadata: MessageMetadata; thread_ts?: string };

export class SlackNotifier implements Notifier, AuditPoster, DigestPoster {
  /** publishes Home tabs; set once the service that reads them exists (showHomesWith) */
  private homes?: { changed(userIds: readonly string[]): Promise<void> };
  private readonly dms: DmChannels;

  constructor(
    private readonly deps: {
      client: WebClient;
      auditChannel: string;
      approvalChannel?: string;
      logger: Logger;
      /** the hosts' owners (mentioned in the approval channel) and the approval timeout (when a request times out) */
      policy?: Pick<Policy, 'hosts' | 'defaults'>;
    },
  ) {
    this.dms = new DmChannels(deps.client);
  }

  /** A DM to `userId`; a failed post forgets the kept channel (a deleted DM, a deactivated person). */
  private async postDm(userId: string, m: Posted) {
    const channel = this.dms.open(userId);
    try {
      return await this.post(await channel, m);
    } catch (err) {
      this.dms.forget(userId, channel);
      throw err;
    }
  }

  private async post(channel: string, m: Posted) {
    return this.deps.client.chat.postMessage({ channel, ...m, blocks: m.blocks as never });
  }

  private async dm(r: AccessRequest, type: EventType, message: string | { text: string; blocks: unknown[] }): Promise<void> {
    const m = typeof message === 'string' ? { text: message } : message;
    await this.postDm(r.requester, { ...m, metadata: requestMetadata(type, r) });
  }

  /** The approval message for one copy: the approval channel's mentions the host's owners, the owners' DMs do not. */
  private approval(r: AccessRequest, channel: string): Posted {
    const policy = this.deps.policy;
    const ask: ApprovalAsk = { timesOutAt: policy ? r.createdAt + policy.defaults.approvalTimeout : undefined, minMs: policy?.defaults.minDuration };
    if (policy && channel === this.deps.approvalChannel)
      ask.mention = (policy.hosts.find((h) => h.name === r.host)?.owners ?? []).filter((o) => o !== r.requester);
    return { ...approvalMessage(r, ask), metadata: requestMetadata(r.state === 'pending' ? EVENT_TYPES.requestPending : EVENT_TYPES.requestDecided, r) };
  }

  async requestPending(request: AccessRequest, ownerUserIds: readonly string[]): Promise<MessageRef[]> {
    const channels: string[] = [];
    if (this.deps.approvalChannel) channels.push(this.deps.approvalChannel);
    // One owner's DM failing (deactivated account) must not stop the others from seeing the request.
    const dms = await Promise.allSettled(ownerUserIds.map((u) => this.dms.open(u)));
    for (const r of dms) {
      if (r.status === 'fulfilled') channels.push(r.value);
      else this.deps.logger.warn({ err: r.reason }, 'could not open a DM with an owner');
    }
    const posted = await Promise.allSettled(channels.map((channel) => this.post(channel, this.approval(request, channel))));
    const refs: MessageRef[] = [];
    posted.forEach((p, i) => {
      if (p.status === 'fulfilled' && p.value.ts) refs.push({ channel: p.value.channel ?? channels[i]!, ts: p.value.ts });
      else this.deps.logger.warn({ err: p.status === 'rejected' ? p.reason : undefined, channel: channels[i] }, 'could not post approval request');
    });
    return refs;
  }

  /** From now on, changes are shown on these Home tabs (the service that reads them is made after the notifier). */
  showHomesWith(homes: { changed(userIds: readonly string[]): Promise<void> }): void {
    this.homes = homes;
  }

  async homeChanged(userIds: readonly string[]): Promise<void> {
    await this.homes?.changed(userIds);
  }

  approvalRecorded(request: AccessRequest, refs: readonly MessageRef[]): Promise<void> {
    return this.updateApprovalMessages(request, refs);
  }

  requestChanged(request: AccessRequest, refs: readonly MessageRef[]): Promise<void> {
    return this.updateApprovalMessages(request, refs);
  }

  /** Re-renders every copy of the approval message from the request's current state (buttons gone once decided). */
  private async updateApprovalMessages(request: AccessRequest, refs: readonly MessageRef[]): Promise<void> {
    await Promise.all(
      refs.map((ref) => {
        const message = this.approval(request, ref.channel);
        return this.deps.client.chat.update({ channel: ref.channel, ts: ref.ts, ...message, blocks: message.blocks as never }).catch((err: unknown) => {
          this.deps.logger.warn({ err, channel: ref.channel }, 'could not update approval message');
        });
      }),
    );
  }

  /** One reply in the thread of every copy of the approval message; a copy that cannot take it is logged, not retried. */
  async requestStep(request: AccessRequest, step: RequestStep, refs: readonly MessageRef[]): Promise<void> {
    const message = { ...stepMessage(request, step), metadata: requestStepMetadata(request, step) };
    await Promise.all(
      refs.map((ref) =>
        this.post(ref.channel, { ...message, thread_ts: ref.ts }).catch((err: unknown) => {
          this.deps.logger.warn({ err, channel: ref.channel, requestId: request.id, step: step.kind }, 'could not reply in the approval thread');
        }),
      ),
    );
  }

  async grantActivated(request: AccessRequest, instructions: ConnectInstructions): Promise<void> {
    const message = { ...connectMessage(request, instructions), metadata: requestMetadata(EVENT_TYPES.grantActive, request) };
    await this.postDm(request.requester, message);
  }

  grantNotActivated = (r: AccessRequest) => this.dm(r, EVENT_TYPES.grantFailed, requesterTexts.grantNotActivated(r));
  requestDenied = (r: AccessRequest) => this.dm(r, EVENT_TYPES.requestClosed, requesterMessages.requestDenied(r));
  requestTimedOut = (r: AccessRequest) => this.dm(r, EVENT_TYPES.requestClosed, requesterMessages.requestTimedOut(r));
  requestCancelled = (r: AccessRequest) => this.dm(r, EVENT_TYPES.requestClosed, requesterTexts.requestCancelled(r));
  grantEnded = (r: AccessRequest) => this.dm(r, EVENT_TYPES.grantEnded, requesterMessages.grantEnded(r));
  grantExtended = (grant: AccessRequest, extension: AccessRequest) => this.dm(grant, EVENT_TYPES.grantExtended, requesterTexts.grantExtended(grant, extension));
  expiryWarning = (r: AccessRequest, leftMs: number) => this.dm(r, EVENT_TYPES.grantWarning, requesterMessages.expiryWarning(r, leftMs));

  /** One DM per person; one failing (a deactivated account) does not stop the others. */
  async reminder(r: AccessRequest, waitedMs: number, to: readonly string[], escalated: boolean): Promise<void> {
    const text = reminderText(r, waitedMs, escalated);
    const sent = await Promise.allSettled(to.map(async (u) => this.postDm(u, { text, metadata: requestMetadata(EVENT_TYPES.requestReminder, r) })));
    for (const s of sent) if (s.status === 'rejected') this.deps.logger.warn({ err: s.reason, requestId: r.id }, 'could not send a reminder');
  }

  /**
   * Whether a message the broker may have posted before it died is in the channel already: what a replica
   * taking over an unfinished post checks first, by the message's metadata. Needs the history scope of the
   * channel (channels:history, groups:history, im:history); without it the answer is "no" and the post may repeat.
   */
  private async inHistory(channel: string, since: number, matches: (m: MessageMetadata) => boolean): Promise<boolean> {
    try {
      const res = await this.deps.client.conversations.history({ channel, oldest: String(Math.floor(since / 1000) - 1), limit: 1000, include_all_metadata: true });
      return (res.messages ?? []).some((m) => {
        const meta = metadataOf(m);
        return meta !== undefined && matches(meta);
      });
    } catch (err) {
      this.deps.logger.warn({ err, channel }, 'could not read channel history to avoid a repeated post');
      return false;
    }
  }

  async activationMessageSent(request: AccessRequest): Promise<boolean> {
    const activation: string[] = [EVENT_TYPES.grantActive, EVENT_TYPES.grantFailed];
    return this.inHistory(await this.dms.open(request.requester), request.activatedAt ?? request.createdAt, (m) =>
      activation.includes(m.event_type) && m.event_payload.request_id === request.id,
    );
  }

  async alreadyPosted(event: AuditEvent, auditId: string): Promise<boolean> {
    return this.inHistory(this.deps.auditChannel, event.at, (m) => m.event_payload.audit_id === auditId);
  }

  async postAudit(event: AuditEvent, auditId: string): Promise<void> {
    const text = auditLine(event);
    await this.deps.client.chat.postMessage({ channel: this.deps.auditChannel, text, unfurl_links: false, unfurl_media: false, metadata: auditMetadata(event, auditId) });
  }

  async digestPosted(date: string, since: number): Promise<boolean> {
    return this.inHistory(this.deps.auditChannel, since, (m) => m.event_type === EVENT_TYPES.auditDigest && m.event_payload.digest_date === date);
  }

  async postDigest(digest: AuditDigest, date: string): Promise<void> {
    const text = digestText(digest, date);
    await this.deps.client.chat.postMessage({ channel: this.deps.auditChannel, text, unfurl_links: false, unfurl_media: false, metadata: digestMetadata(digest, date) });
  }
}
