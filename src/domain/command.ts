// Parses the text of a `/jump …` slash command. No I/O; policy checks happen in access-policy.ts.
import { looksLikeDuration } from './duration.ts';
import { containsPrivateKey } from './public-key.ts';
import { echo } from './user-text.ts';

export type JumpCommand =
  | { kind: 'help' }
  | { kind: 'request'; host: string; duration?: string; reason: string }
  | { kind: 'key-add'; keyText: string }
  | { kind: 'key-show' }
  | { kind: 'key-remove' }
  /** the text held a private key: refused whatever the verb, and the text is dropped at once */
  | { kind: 'private-key' }
  | { kind: 'list' }
  | { kind: 'revoke'; id: string }
  | { kind: 'invalid'; message: string };

export const MAX_COMMAND_TEXT = 4_000;

export const HELP_TEXT = [
  '*jit-jump*: just-in-time SSH access through the jump server.',
  '`/jump key add <ssh public key>`: register your public key (one per person; replaces the old one)',
  '`/jump key`: show your registered key',
  '`/jump key remove`: delete your registered key (any active grant stops working)',
  '`/jump request <host> [duration] [reason…]`: ask the host’s owners for access, e.g. `/jump request db-prod-1 2h fix replication`',
  '`/jump list`: your open requests and active grants',
  '`/jump revoke <id>`: end your own grant (or cancel a pending request) now',
  '`/jump help`: this text',
].join('\n');

function unquote(text: string): string {
  const t = text.trim();
  const m = /^(["'“”‘’])([\s\S]*)(["'“”‘’])$/.exec(t);
  return m ? m[2]!.trim() : t;
}

export function parseCommand(text: string, maxLength = MAX_COMMAND_TEXT): JumpCommand {
  // Checked before anything else, the length too: a long private key must still get the rotate warning.
  if (containsPrivateKey(text)) return { kind: 'private-key' };
  if (text.length > maxLength) return { kind: 'invalid', message: `That command is too long (over ${maxLength} characters).` };
  const trimmed = text.trim();
  const [verb = '', ...rest] = trimmed.split(/\s+/);
  const afterVerb = trimmed.slice(verb.length).trim();
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { kind: 'help' };
    case 'request': {
      const [host, second, ...more] = rest;
      if (!host) return { kind: 'invalid', message: 'Name a host: `/jump request <host> [duration] [reason…]`, e.g. `/jump request db-prod-1 2h fix replication`.' };
      const reasonStart = (words: string[]) => unquote(words.join(' '));
      // The second word is a duration only if it looks like one ("30m", "2h", "1h30m", "90"); otherwise it starts the reason.
      if (second !== undefined && looksLikeDuration(second)) return { kind: 'request', host, duration: second, reason: reasonStart(more) };
      const reasonText = afterVerb.slice(afterVerb.indexOf(host) + host.length);
      return { kind: 'request', host, reason: unquote(reasonText) };
    }
    case 'key': {
      const [sub = '', ...keyWords] = rest;
      if (sub === '' || sub.toLowerCase() === 'show') return { kind: 'key-show' };
      if (['remove', 'delete'].includes(sub.toLowerCase())) return { kind: 'key-remove' };
      if (sub.toLowerCase() === 'add') {
        const keyText = afterVerb.slice(afterVerb.toLowerCase().indexOf('add') + 3).trim();
        if (keyWords.length === 0) return { kind: 'invalid', message: 'Paste your public key after `key add`, e.g. `/jump key add ssh-ed25519 AAAAC3Nz… you@laptop`.' };
        return { kind: 'key-add', keyText };
      }
      return {
        kind: 'invalid',
        message: `Unknown key command "${echo(sub, 40)}". Use \`/jump key add <public key>\`, \`/jump key remove\` or \`/jump key\`.`,
      };
    }
    case 'list':
      return { kind: 'list' };
    case 'revoke':
    case 'cancel': {
      const [id] = rest;
      if (!id) return { kind: 'invalid', message: 'Name the request: `/jump revoke <id>` (see `/jump list`).' };
      return { kind: 'revoke', id };
    }
    default:
      return { kind: 'invalid', message: `Unknown command "${echo(verb, 40)}". Try \`/jump help\`.` };
  }
}
