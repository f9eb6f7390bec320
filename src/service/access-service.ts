// The access flow as one object for the adapters that call in (Slack listeners, BullMQ workers, the
// reconciler). It only binds the use cases to their ports; the rules live in the use-case modules.
import { randomRequestId } from '../domain/ids.ts';
import type { Action } from '../domain/authorization.ts';
import type { RefusalCode } from '../domain/result.ts';
import { routeCommand } from './command-router.ts';
import { approve, deny, prepareDeny } from './decide-request.ts';
import { earlierRequest, imDone, requestAgain } from './grant-buttons.ts';
import { acknowledge, escalateOverdueReviews } from './break-glass.ts';
import { extendGrant, grantToExtend, type ExtensionAsked } from './extend-grant.ts';
import { completeActivation, endForRetiredJumpHost, expire, expiryWarning, timeOut } from './grant-lifecycle.ts';
import { remindUndecided } from './reminders.ts';
import type { ServiceDeps } from './ports.ts';
import type { AccessAsked } from './request-access.ts';
import { requestForm, submitRequestForm, type RequestForm } from './request-form.ts';
import type { AccessRequest } from '../domain/request-state.ts';
import { homeOf, type HomeContents } from './home.ts';
import { auditCallerRefusal } from './refusals.ts';
import type { Outcome, Reply } from './replies.ts';

export type { HomeContents, Outcome, Reply };

export type AccessServiceDeps = Omit<ServiceDeps, 'newId' | 'activationLeaseMs'> & Partial<Pick<ServiceDeps, 'newId' | 'activationLeaseMs'>>;

export class AccessService {
  private readonly d: ServiceDeps;

  constructor(deps: AccessServiceDeps) {
    this.d = { ...deps, newId: deps.newId ?? randomRequestId, activationLeaseMs: deps.activationLeaseMs ?? 30_000 };
  }

  /** `/jump <text>` */
  command = (user: string, text: string): Promise<Outcome> => routeCommand(this.d, user, text);
  approve = (requestId: string, actor: string, approvedFor?: string): Promise<Outcome> => approve(this.d, requestId, actor, approvedFor);
  prepareDeny = (requestId: string, actor: string) => prepareDeny(this.d, requestId, actor);
  deny = (requestId: string, actor: string, reason: string): Promise<Outcome> => deny(this.d, requestId, actor, reason);
  /** the I'm done button: `/jump revoke <id>` by the clicker; `ended`: the request after, for the clicked DM */
  imDone = (requestId: string, actor: string) => imDone(this.d, actor, requestId);
  /** the Request again button: the earlier request, if the clicker made it */
  earlierRequest = (requestId: string, actor: string) => earlierRequest(this.d, actor, requestId);
  /** the Request again form submitted: `/jump request` with the form's fields */
  requestAgain = (earlierId: string, actor: string, asked: AccessAsked): Promise<Outcome> => requestAgain(this.d, actor, earlierId, asked);
  /** what the request form offers `actor` (prefilled from `earlier`, a request of theirs, for Request again;
   *  `chosen`: the host picked in the form so far, whose limits the durations then follow) */
  requestForm = (actor: string, earlier?: AccessRequest, chosen?: { host: string; durationMs?: number }): Promise<RequestForm> => requestForm(this.d, actor, earlier, chosen);
  /** the request form submitted: `/jump request` with its fields (`earlierId`: opened by Request again) */
  submitRequestForm = (earlierId: string | undefined, actor: string, asked: AccessAsked): Promise<Outcome> => submitRequestForm(this.d, actor, earlierId, asked);
  /** what the person's Home tab shows */
  home = (user: string): Promise<HomeContents> => homeOf(this.d, user);
  completeActivation = (requestId: string): Promise<void> => completeActivation(this.d, requestId);
  /** the revoke job: the grant's new end if an extension moved it (the job waits for it) */
  expire = (requestId: string, grantEnd?: number): Promise<number | undefined> => expire(this.d, requestId, grantEnd);
  timeOut = (requestId: string): Promise<void> => timeOut(this.d, requestId);
  expiryWarning = (requestId: string, grantEnd?: number): Promise<void> => expiryWarning(this.d, requestId, grantEnd);
  /** the Acknowledge button on a break-glass alert */
  acknowledge = (requestId: string, actor: string): Promise<Outcome> => acknowledge(this.d, requestId, actor);
  /** reconciler: break-glass grants past their review escalate to the audit channel */
  reviewBreakGlass = (): Promise<void> => escalateOverdueReviews(this.d);
  /** `/jump extend` from the Extend form: `id` is the grant */
  extend = (id: string, actor: string, asked: ExtensionAsked): Promise<Outcome> => extendGrant(this.d, actor, id, asked);
  /** the Extend button: the grant, if the clicker may ask to extend it */
  grantToExtend = (id: string, actor: string) => grantToExtend(this.d, actor, id);
  remind = (requestId: string): Promise<void> => remindUndecided(this.d, requestId);
  /** the grant's jump server is retired: true if this call ended it */
  endForRetiredJumpHost = (requestId: string): Promise<boolean> => endForRetiredJumpHost(this.d, requestId);

  /** A caller refused before any use case ran (another workspace, a forged response_url): audited with `detail`. */
  refuseCaller = (actor: string, action: Action | 'slack-request', code: RefusalCode, detail: string): Promise<void> =>
    auditCallerRefusal(this.d, actor, action, code, detail);
}
