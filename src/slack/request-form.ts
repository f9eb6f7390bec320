// The request form as a Slack modal: a host picker (the hosts the person may request), a duration choice within
// their limits and a reason. One form for `/jump request` alone, the Home tab's "Request access" and Request
// again (prefilled from the earlier request, whose id travels as private_metadata). No I/O.
import { formatDuration } from '../domain/duration.ts';
import type { AccessAsked } from '../service/request-access.ts';
import type { RequestForm } from '../domain/requestable-hosts.ts';
import { REQUEST_FIELDS, VIEW_REQUEST_AGAIN, type RequestField } from './messages.ts';

/** The request form's callback id. */
export const VIEW_REQUEST_FORM = 'jit_request_form';
/** Submissions of either callback id are requests: VIEW_REQUEST_AGAIN is a form opened before the two became one. */
export const REQUEST_FORM_VIEWS = [VIEW_REQUEST_FORM, VIEW_REQUEST_AGAIN] as const;
/** The Home tab's "Request access" button: opens the form. */
export const ACTION_OPEN_REQUEST_FORM = 'jit_open_request_form';

/** Slack's limits: option text 75, option value 150, 100 options per menu. */
const OPTION_TEXT = 75;
const MAX_OPTIONS = 100;

type Block = { type: string; [key: string]: unknown };

const plain = (text: string) => ({ type: 'plain_text', text });

function option(text: string, value: string) {
  return { text: plain(text.length > OPTION_TEXT ? `${text.slice(0, OPTION_TEXT - 1)}…` : text), value };
}

function hostField(form: RequestForm): Block {
  // Past Slack's 100 options the rest can still be requested by typing `/jump request <host>`.
  const options = form.hosts.slice(0, MAX_OPTIONS).map((h) => option(`${h.name} (up to ${formatDuration(h.maxDurationMs)})`, h.name));
  const initial = options.find((o) => o.value === form.selected?.host);
  return {
    type: 'input',
    block_id: REQUEST_FIELDS.host,
    // Picking a host tells the broker at once, which redraws the durations within that host's limits.
    dispatch_action: true,
    label: plain('Host'),
    element: { type: 'static_select', action_id: REQUEST_FIELDS.host, placeholder: plain('Choose a host'), options, ...(initial ? { initial_option: initial } : {}) },
  };
}

/**
 * The duration field's block id: redrawn for a host picked in the form, the field takes that host's name, so
 * that Slack starts it afresh at its initial choice instead of keeping a choice the host may not allow.
 */
export function durationBlockId(pickedHost?: string): string {
  return pickedHost ? `${REQUEST_FIELDS.duration}@${pickedHost}` : REQUEST_FIELDS.duration;
}

/** The block id a field stands under in a submitted form (the duration's may name the host picked). */
export function blockIdIn(values: Record<string, unknown>, field: RequestField): string {
  return Object.keys(values).find((k) => k === REQUEST_FIELDS[field] || k.startsWith(`${REQUEST_FIELDS[field]}@`)) ?? REQUEST_FIELDS[field];
}

function durationField(form: RequestForm, pickedHost?: string): Block {
  const options = form.durationsMs.map((ms) => option(formatDuration(ms), formatDuration(ms)));
  const wanted = formatDuration(form.selected?.durationMs ?? form.defaultDurationMs);
  const initial = options.find((o) => o.value === wanted) ?? options.find((o) => o.value === formatDuration(form.defaultDurationMs));
  const host = form.hosts.find((h) => h.name === form.selected?.host);
  return {
    type: 'input',
    block_id: durationBlockId(pickedHost),
    label: plain('Duration'),
    element: { type: 'static_select', action_id: REQUEST_FIELDS.duration, placeholder: plain('How long'), options, ...(initial ? { initial_option: initial } : {}) },
    hint: plain(host ? `${host.name} allows at most ${formatDuration(host.maxDurationMs)}.` : 'Each host allows at most the time shown next to its name.'),
  };
}

function reasonField(form: RequestForm): Block {
  // With a host chosen, its own rule; otherwise required only if every host requires one.
  const among = form.hosts.filter((h) => !form.selected || h.name === form.selected.host);
  const required = among.filter((h) => h.requireReason).map((h) => h.name);
  const everyHost = required.length === among.length;
  // The chosen host's own hint first (policy reasonHint), else which hosts need a reason at all.
  const ownHint = among.length === 1 ? among[0]!.reasonHint : undefined;
  const hint = ownHint ?? (everyHost ? undefined : required.length ? `Required for ${required.join(', ')}.` : undefined);
  const initial = (form.earlier?.reason ?? '').slice(0, form.maxReasonLength);
  return {
    type: 'input',
    block_id: REQUEST_FIELDS.reason,
    label: plain('Reason'),
    element: { type: 'plain_text_input', action_id: REQUEST_FIELDS.reason, multiline: true, max_length: form.maxReasonLength, ...(initial ? { initial_value: initial } : {}) },
    // Optional where some host takes none: the submission is refused in /jump request's words where one is needed.
    ...(everyHost ? {} : { optional: true }),
    ...(hint ? { hint: plain(hint.length > 2000 ? `${hint.slice(0, 1999)}…` : hint) } : {}),
  };
}

/**
 * The form; with no host the person may request, it says so and offers nothing to submit. `pickedHost`: the
 * form is redrawn because the person picked this host in it.
 */
export function requestFormModal(form: RequestForm, pickedHost?: string): Block {
  const frame = { type: 'modal', callback_id: VIEW_REQUEST_FORM, private_metadata: form.earlier?.id ?? '', title: plain('Request access'), close: plain('Cancel') };
  if (form.hosts.length === 0) return { ...frame, close: plain('Close'), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'There is no host you can request access to right now.' } }] };
  return { ...frame, submit: plain('Request'), blocks: [hostField(form), durationField(form, pickedHost), reasonField(form)] };
}

type StateValue = { value?: string | null; selected_option?: { value?: string } | null };

/** What the submitted form asks for, read as `/jump request` reads its words (a picker's choice or typed text). */
export function askedInForm(values: Record<string, Record<string, StateValue | undefined> | undefined>): AccessAsked {
  const value = (f: RequestField) => {
    const v = values[blockIdIn(values, f)]?.[REQUEST_FIELDS[f]];
    return (v?.selected_option?.value ?? v?.value ?? '').trim();
  };
  const duration = value('duration');
  return { host: value('host'), duration: duration === '' ? undefined : duration, reason: value('reason') };
}
