// Posts and updates the broker's Slack messages through the Web API.
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { AuditPoster } from '../audit/audit-forwarder.ts';
import type { AuditEvent } from '../domain/audit-event.ts';
import type { ConnectInstructions } from '../domain/connect-instructions.ts';
import type { AccessRequest, MessageRef } from '../domain/request-state.ts';
import type { Notifier } from '../service/ports.ts';
import { approvalMessage, connectMessage } from './messages.ts';

export class SlackNotifier implements Notifier, AuditPoster {
  constructor(
    private readonly deps: { client: WebClient; auditChannel: string; approvalChannel?: string; logger: Logger },
  ) {}

  private async dmChannel(userId: string): Promise<string> {
    const res = await this.deps.client.conversations.open({ users: userId });
    const id = res.channel?.id;
    if (!id) throw new Error(`conversations.open gave no channel for ${userId}`);
    return id;
  }

  async postApprovalRequest(request: AccessRequest, ownerUserIds: readonly string[]): Promise<MessageRef[]> {
    const { text, blocks } = approvalMessage(request);
    const channels: string[] = [];
    if (this.deps.approvalChannel) channels.push(this.deps.approvalChannel);
    // One owner's DM failing (deactivated account) must not stop the others from seeing the request.
    const dms = await Promise.allSettled(ownerUserIds.map((u) => this.dmChannel(u)));
    for (const r of dms) {
      if (r.status === 'fulfilled') channels.push(r.value);
      else this.deps.logger.warn({ err: r.reason }, 'could not open a DM with an owner');
    }
    const posted = await Promise.allSettled(channels.map((channel) => this.deps.client.chat.postMessage({ channel, text, blocks })));
    const refs: MessageRef[] = [];
    posted.forEach((p, i) => {
      if (p.status === 'fulfilled' && p.value.ts) refs.push({ channel: p.value.channel ?? channels[i]!, ts: p.value.ts });
      else this.deps.logger.warn({ err: p.status === 'rejected' ? p.reason : undefined, channel: channels[i] }, 'could not post approval request');
    });
    return refs;
  }

  async updateApprovalMessages(request: AccessRequest, refs: readonly MessageRef[]): Promise<void> {
    const { text, blocks } = approvalMessage(request);
    await Promise.all(
      refs.map((ref) =>
        this.deps.client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }).catch((err: unknown) => {
          this.deps.logger.warn({ err, channel: ref.channel }, 'could not update approval message');
        }),
      ),
    );
  }

  async sendConnectInstructions(request: AccessRequest, instructions: ConnectInstructions): Promise<void> {
    const { text, blocks } = connectMessage(request, instructions);
    await this.deps.client.chat.postMessage({ channel: await this.dmChannel(request.requester), text, blocks });
  }

  async notifyUser(userId: string, text: string): Promise<void> {
    await this.deps.client.chat.postMessage({ channel: await this.dmChannel(userId), text });
  }

  /**
   * Whether a message the broker may have posted before it died is in the channel already: what a replica
   * taking over an unfinished post checks first. Needs the history scope of the channel (channels:history,
   * groups:history, im:history); without it the answer is "no" and the post may repeat.
   */
  private async inHistory(channel: string, since: number, matches: (m: { text?: string; blocks?: unknown }) => boolean): Promise<boolean> {
    try {
      const res = await this.deps.client.conversations.history({ channel, oldest: String(Math.floor(since / 1000) - 1), limit: 1000 });
      return (res.messages ?? []).some((m) => matches(m as { text?: string; blocks?: unknown }));
    } catch (err) {
      this.deps.logger.warn({ err, channel }, 'could not read channel history to avoid a repeated post');
      return false;
    }
  }

  async activationMessageSent(request: AccessRequest): Promise<boolean> {
    return this.inHistory(await this.dmChannel(request.requester), request.activatedAt ?? request.createdAt, (m) =>
      /Connect with|was approved, but/.test(m.text ?? '') && JSON.stringify(m).includes(request.id),
    );
  }

  async alreadyPosted(text: string, event: AuditEvent): Promise<boolean> {
    return this.inHistory(this.deps.auditChannel, event.at, (m) => m.text === text);
  }

  async postAudit(text: string): Promise<void> {
    await this.deps.client.chat.postMessage({ channel: this.deps.auditChannel, text, unfurl_links: false, unfurl_media: false });
  }
}
