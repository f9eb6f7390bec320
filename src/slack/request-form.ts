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
  const initial = options.find((o) => o.value === form.earlier?.host);
  return {
    type: 'input',
    block_id: REQUEST_FIELDS.host,
    label: plain('Host'),
    element: { type: 'static_select', action_id: REQUEST_FIELDS.host, placeholder: plain('Choose a host'), options, ...(initial ? { initial_option: initial } : {}) },
  };
}

function durationField(form: RequestForm): Block {
  const options = form.durationsMs.map((ms) => option(formatDuration(ms), formatDuration(ms)));
  const wanted = formatDuration(form.earlier?.durationMs ?? form.defaultDurationMs);
  const initial = options.find((o) => o.value === wanted) ?? options.find((o) => o.value === formatDuration(form.defaultDurationMs));
  return {
    type: 'input',
    block_id: REQUEST_FIELDS.duration,
    label: plain('Duration'),
    element: { type: 'static_select', action_id: REQUEST_FIELDS.duration, placeholder: plain('How long'), options, ...(initial ? { initial_option: initial } : {}) },
    hint: plain('Each host allows at most the time shown next to its name.'),
  };
}

function reasonField(form: RequestForm): Block {
  const required = form.hosts.filter((h) => h.requireReason).map((h) => h.name);
  const everyHost = required.length === form.hosts.length;
  const hint = everyHost ? undefined : required.length ? `Required for ${required.join(', ')}.` : undefined;
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

/** The form; with no host the person may request, it says so and offers nothing to submit. */
export function requestFormModal(form: RequestForm): Block {
  const frame = { type: 'modal', callback_id: VIEW_REQUEST_FORM, private_metadata: form.earlier?.id ?? '', title: plain('Request access'), close: plain('Cancel') };
  if (form.hosts.length === 0) return { ...frame, close: plain('Close'), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'There is no host you can request access to right now.' } }] };
  return { ...frame, submit: plain('Request'), blocks: [hostField(form), durationField(form), reasonField(form)] };
}

type StateValue = { value?: string | null; selected_option?: { value?: string } | null };

/** What the submitted form asks for, read as `/jump request` reads its words (a picker's choice or typed text). */
export function askedInForm(values: Record<string, Record<string, StateValue | undefined> | undefined>): AccessAsked {
  const value = (f: RequestField) => {
    const v = values[REQUEST_FIELDS[f]]?.[REQUEST_FIELDS[f]];
    return (v?.selected_option?.value ?? v?.value ?? '').trim();
  };
  const duration = value('duration');
  return { host: value('host'), duration: duration === '' ? undefined : duration, reason: value('reason') };
}
