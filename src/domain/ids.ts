import { randomBytes } from 'node:crypto';

// Lower-case letters and digits without look-alikes. Ids start with a letter so that they are never
// all digits (BullMQ refuses such job ids) and contain no ':' (also refused); they are safe in an
// authorized_keys comment and in Slack text.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export type IdGenerator = () => string;

export const randomRequestId: IdGenerator = () => {
  const bytes = randomBytes(9);
  let id = 'r';
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return id;
};

export const REQUEST_ID_PATTERN = /^r[a-z0-9]{4,20}$/;
