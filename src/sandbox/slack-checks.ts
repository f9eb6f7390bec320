// What Slack's Web API checks in the messages and modals an app sends, for the local fake: Block Kit types,
// required fields and length limits (docs.slack.dev, Block Kit reference: 50 blocks per message, 100 per
// modal, section text 3000, field 2000, header 150, button text 75, action_id/block_id 255, value 2000,
// modal title/submit/close 24, select options 100 of text 75 and value 150), message text (40,000), metadata shape, and well-formed Unicode. Only the
// block and element types the broker uses are known: anything else is refused, as a reminder to add it here.
// Lengths count UTF-16 code units (JavaScript's length), never fewer than the characters Slack counts.
// Stricter than Slack by choice: a `<` in mrkdwn (message text, mrkdwn text objects) must start one of Slack's
// control sequences (mention, channel, special mention, user group, date, link); Slack would otherwise
// swallow or mangle the text (`<host>` renders as nothing), so a message that needs `&lt;` fails a test.
import { z } from 'zod';

export const MESSAGE_TEXT_LIMIT = 40_000;

/** What may stand between `<` and `>` in mrkdwn: Slack's control sequences, each with an optional `|label`. */
const CONTROL_SEQUENCE =
  /^(?:(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|!(?:here|channel|everyone)|!subteam\^S[A-Z0-9]+|(?:https?:\/\/|mailto:)[^\s|<>]+)(?:\|[^<>]*)?|!date\^\d+\^[^|<>^]+(?:\^[^|<>^]+)?\|[^<>]+)$/;

/** The first `<…>` in mrkdwn that is not a Slack control sequence (or a `<` that is never closed), described. */
export function controlSequenceProblem(mrkdwnText: string): string | undefined {
  for (let at = mrkdwnText.indexOf('<'); at !== -1; at = mrkdwnText.indexOf('<', at + 1)) {
    const end = mrkdwnText.indexOf('>', at);
    const inner = end === -1 ? undefined : mrkdwnText.slice(at + 1, end);
    if (inner === undefined || inner.includes('<') || !CONTROL_SEQUENCE.test(inner)) {
      const shown = mrkdwnText.slice(at, end === -1 ? at + 20 : Math.min(end + 1, at + 40));
      return `${JSON.stringify(shown)} is not a Slack control sequence: write &lt; and &gt; for angle brackets`;
    }
    at = end;
  }
  return undefined;
}

const text = (max: number) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const id = text(255);
const plain = (max: number) => z.strictObject({ type: z.literal('plain_text'), text: text(max), emoji: z.boolean().optional() });
const mrkdwnText = (max: number) =>
  text(max).superRefine((s, ctx) => {
    const problem = controlSequenceProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const mrkdwn = (max: number) => z.strictObject({ type: z.literal('mrkdwn'), text: mrkdwnText(max), verbatim: z.boolean().optional() });
const textObject = (max: number) => z.discriminatedUnion('type', [plain(max), mrkdwn(max)]);

const confirm = z.strictObject({
  title: plain(100),
  text: textObject(300),
  confirm: plain(30),
  deny: plain(30),
  style: z.enum(['primary', 'danger']).optional(),
});
const button = z.strictObject({
  type: z.literal('button'),
  text: plain(75),
  action_id: id.optional(),
  value: text(2000).optional(),
  url: text(3000).optional(),
  style: z.enum(['primary', 'danger']).optional(),
  confirm: confirm.optional(),
  accessibility_label: text(75).optional(),
});
const image = z.strictObject({ type: z.literal('image'), image_url: text(3000), alt_text: text(2000) });
const plainTextInput = z.strictObject({
  type: z.literal('plain_text_input'),
  action_id: id.optional(),
  initial_value: z.string().optional(),
  multiline: z.boolean().optional(),
  min_length: z.number().int().min(0).max(3000).optional(),
  max_length: z.number().int().min(1).max(3000).optional(),
  placeholder: plain(150).optional(),
  focus_on_load: z.boolean().optional(),
});

// A menu of static options (the request form's fields, the choice next to Approve): option text 75, value 150.
const option = z.strictObject({ text: plain(75), value: text(150), description: plain(75).optional() });
const staticSelect = z
  .strictObject({
    type: z.literal('static_select'),
    action_id: id.optional(),
    placeholder: plain(150).optional(),
    options: z.array(option).min(1).max(100, 'must have at most 100 options'),
    initial_option: option.optional(),
    focus_on_load: z.boolean().optional(),
  })
  .refine((s) => s.initial_option === undefined || s.options.some((o) => o.value === s.initial_option!.value && o.text.text === s.initial_option!.text.text), {
    message: 'initial_option must be one of the options',
    path: ['initial_option'],
  });

const blockId = { block_id: id.optional() };
const block = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('section'),
      ...blockId,
      text: textObject(3000).optional(),
      fields: z.array(textObject(2000)).min(1).max(10, 'must have at most 10 fields').optional(),
      accessory: button.optional(),
    })
    .refine((b) => b.text !== undefined || b.fields !== undefined, 'a section needs text or fields'),
  z.strictObject({ type: z.literal('header'), ...blockId, text: plain(150) }),
  z.strictObject({ type: z.literal('divider'), ...blockId }),
  z.strictObject({
    type: z.literal('context'),
    ...blockId,
    elements: z.array(z.discriminatedUnion('type', [plain(3000), mrkdwn(3000), image])).min(1).max(10, 'must have at most 10 elements'),
  }),
  z.strictObject({
    type: z.literal('actions'),
    ...blockId,
    elements: z.array(z.discriminatedUnion('type', [button, staticSelect])).min(1).max(25, 'must have at most 25 elements'),
  }),
  z.strictObject({
    type: z.literal('input'),
    ...blockId,
    label: plain(2000),
    element: z.discriminatedUnion('type', [plainTextInput, staticSelect]),
    hint: plain(2000).optional(),
    optional: z.boolean().optional(),
    dispatch_action: z.boolean().optional(),
  }),
]);

const blocks = (max: number) => z.array(block).max(max, `must have at most ${max} blocks`);

const modal = z
  .strictObject({
    type: z.literal('modal'),
    title: plain(24),
    blocks: blocks(100),
    close: plain(24).optional(),
    submit: plain(24).optional(),
    private_metadata: z.string().max(3000, 'must be at most 3000 characters').optional(),
    callback_id: id.optional(),
    external_id: id.optional(),
    clear_on_close: z.boolean().optional(),
    notify_on_close: z.boolean().optional(),
  })
  .refine((v) => v.submit !== undefined || !v.blocks.some((b) => b.type === 'input'), { message: 'a modal with an input block needs submit', path: ['submit'] });

/** The Home tab (views.publish). */
const home = z.strictObject({
  type: z.literal('home'),
  blocks: blocks(100),
  private_metadata: z.string().max(3000, 'must be at most 3000 characters').optional(),
  callback_id: id.optional(),
  external_id: id.optional(),
});

/** Slack's message metadata: an event type and a free-form payload object. */
const metadata = z.strictObject({
  event_type: z.string().min(1, 'must not be empty').max(255),
  event_payload: z.record(z.string(), z.unknown()),
});

export interface Problem {
  /** Slack's error code */
  error: string;
  /** Slack's `errors` / response_metadata.messages style detail: what is wrong, where (a JSON pointer) */
  detail: string;
}

function describe(root: string, issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.message} [json-pointer:/${[root, ...i.path.map(String)].join('/')}]`)
    .join('; ');
}

/** The first place in a value (any depth) where a string holds half a UTF-16 surrogate pair. */
export function loneSurrogateAt(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return /\p{Cs}/u.test(value) ? path || '/' : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const at = loneSurrogateAt(v, `${path}/${i}`);
      if (at) return at;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = loneSurrogateAt(v, `${path}/${k}`) ?? (/\p{Cs}/u.test(k) ? `${path}/${k}` : undefined);
      if (at) return at;
    }
  }
  return undefined;
}

const isTrue = (v: unknown) => v === true || v === 'true';

/**
 * chat.postMessage / chat.update / chat.postEphemeral, and the messages an app sends to a response_url or as the
 * answer to a slash command: text, blocks and metadata as Slack checks them.
 */
export function checkMessage(args: Record<string, any>): Problem | undefined {
  if (args.text !== undefined && typeof args.text !== 'string') return { error: 'invalid_arguments', detail: 'text must be a string [json-pointer:/text]' };
  if (typeof args.text === 'string' && args.text.length > MESSAGE_TEXT_LIMIT)
    return { error: 'msg_too_long', detail: `text has ${args.text.length} characters, at most ${MESSAGE_TEXT_LIMIT} [json-pointer:/text]` };
  // The message text is mrkdwn unless the call says otherwise (mrkdwn: false).
  const textProblem = typeof args.text === 'string' && args.mrkdwn !== false && args.mrkdwn !== 'false' ? controlSequenceProblem(args.text) : undefined;
  if (textProblem) return { error: 'invalid_arguments', detail: `${textProblem} [json-pointer:/text]` };
  if (args.blocks !== undefined) {
    if (!Array.isArray(args.blocks)) return { error: 'invalid_blocks_format', detail: 'blocks must be a JSON array [json-pointer:/blocks]' };
    const r = blocks(50).safeParse(args.blocks);
    if (!r.success) return { error: 'invalid_blocks', detail: describe('blocks', r.error.issues) };
  }
  if (!args.text && !(Array.isArray(args.blocks) && args.blocks.length > 0) && !args.attachments && !isTrue(args.delete_original))
    return { error: 'no_text', detail: 'a message needs text or blocks' };
  if (args.metadata !== undefined) {
    const r = metadata.safeParse(args.metadata);
    if (!r.success) return { error: 'invalid_metadata_format', detail: describe('metadata', r.error.issues) };
  }
  return undefined;
}

/** views.open: the modal view; views.publish: the Home tab (`kind` 'home'). */
export function checkView(view: unknown, kind: 'modal' | 'home' = 'modal'): Problem | undefined {
  if (view === undefined) return { error: 'invalid_arguments', detail: 'missing required field: view' };
  const r = (kind === 'home' ? home : modal).safeParse(view);
  return r.success ? undefined : { error: 'invalid_arguments', detail: describe('view', r.error.issues) };
}
