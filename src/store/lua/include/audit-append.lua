-- Appends one audit event to the audit stream: the only place that writes it. Included by every script that
-- changes state, so the event is stored in the same atomic step as the change it describes.
--
-- Hash chain (src/domain/audit-chain.ts verifies it, with the same rules): the event is stored in its
-- canonical encoding (JSON, keys sorted, strings escaped as JavaScript's JSON.stringify does, whole numbers),
-- with seq = the previous entry's seq + 1, prev = the previous entry's hash (64 zeros for the first) and
-- hash = SHA-256(prev .. "\n" .. seq .. "\n" .. canonical event), lowercase hex. Redis has no SHA-256 for
-- scripts, so it is computed here with the bit library. Retention is by age (AuditLog.trim), never by count.
-- The broker sends events already canonical (canonicalJson in domain/audit-chain.ts), stored as they come;
-- a script that changes an event decodes it and stores auditCanonical(event). Both encoders give the same text.
-- `from`: the request's state before this change; '' for events outside a request's life (keys, refusals,
-- alerts).

-- SHA-256 (FIPS 180-4) at the cost Redis's single thread pays for every append (bench/audit-append.ts). In
-- Redis's Lua 5.1 each bit.* call costs about as much as six arithmetic instructions, so:
-- - words are whole numbers in [0, 2^32) and sums are reduced with % 2^32;
-- - a rotation right by n is two parts with no bit in common, floor(x / 2^n) and (x mod 2^n) * 2^(32 - n),
--   and Σ/σ pass all six parts to one bxor. bxor takes each argument modulo 2^32 after rounding it to the
--   nearest integer (exact below 2^51), so floor(x / 2^n) is written x / 2^n - (2^n - 1) / 2^(n + 1) (never a
--   tie), and x * 2^(32 - n) stands for (x mod 2^n) * 2^(32 - n) where it stays below 2^51 (n >= 13);
-- - Ch = (e AND f) + (NOT e AND g) and Maj = (a AND b) + (c AND (a XOR b)), a XOR b = a + b - 2 (a AND b):
--   parts with no bit in common add as they OR;
-- - 16 rounds are written out: the working variables change roles instead of moving, the message schedule
--   lives in 16 locals (w0 … w15 hold words i … i + 15). The constants fold at compile time.

local auditK = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

local function auditSha256(msg)
  local band, bxor, K = bit.band, bit.bxor, auditK
  local h1, h2, h3, h4, h5, h6, h7, h8 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  local len = #msg
  msg = msg .. '\128' .. string.rep('\0', (55 - len) % 64) .. struct.pack('>I4I4', math.floor(len / 2^29), len % 2^29 * 8)
  local t, m
  for chunk = 1, #msg, 64 do
    local w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15 = struct.unpack('>I4I4I4I4I4I4I4I4I4I4I4I4I4I4I4I4', msg, chunk)
    local a, b, c, d, e, f, g, h = h1, h2, h3, h4, h5, h6, h7, h8
    for i = 1, 64, 16 do
      -- rounds i + 0 … i + 15
      t = h + K[i] + w0 + bxor(e / 2^6 - (2^6 - 1) / 2^7, e % 2^6 * 2^26, e / 2^11 - (2^11 - 1) / 2^12, e % 2^11 * 2^21, e / 2^25 - (2^25 - 1) / 2^26, e * 2^7) + band(e, f) + band(-1 - e, g)
      m = band(a, b)
      d = (d + t) % 2^32
      h = (t + bxor(a / 2^2 - (2^2 - 1) / 2^3, a % 2^2 * 2^30, a / 2^13 - (2^13 - 1) / 2^14, a * 2^19, a / 2^22 - (2^22 - 1) / 2^23, a * 2^10) + m + band(c, a + b - 2 * m)) % 2^32
      t = g + K[i + 1] + w1 + bxor(d / 2^6 - (2^6 - 1) / 2^7, d % 2^6 * 2^26, d / 2^11 - (2^11 - 1) / 2^12, d % 2^11 * 2^21, d / 2^25 - (2^25 - 1) / 2^26, d * 2^7) + band(d, e) + band(-1 - d, f)
      m = band(h, a)
      c = (c + t) % 2^32
      g = (t + bxor(h / 2^2 - (2^2 - 1) / 2^3, h % 2^2 * 2^30, h / 2^13 - (2^13 - 1) / 2^14, h * 2^19, h / 2^22 - (2^22 - 1) / 2^23, h * 2^10) + m + band(b, h + a - 2 * m)) % 2^32
      t = f + K[i + 2] + w2 + bxor(c / 2^6 - (2^6 - 1) / 2^7, c % 2^6 * 2^26, c / 2^11 - (2^11 - 1) / 2^12, c % 2^11 * 2^21, c / 2^25 - (2^25 - 1) / 2^26, c * 2^7) + band(c, d) + band(-1 - c, e)
      m = band(g, h)
      b = (b + t) % 2^32
      f = (t + bxor(g / 2^2 - (2^2 - 1) / 2^3, g % 2^2 * 2^30, g / 2^13 - (2^13 - 1) / 2^14, g * 2^19, g / 2^22 - (2^22 - 1) / 2^23, g * 2^10) + m + band(a, g + h - 2 * m)) % 2^32
      t = e + K[i + 3] + w3 + bxor(b / 2^6 - (2^6 - 1) / 2^7, b % 2^6 * 2^26, b / 2^11 - (2^11 - 1) / 2^12, b % 2^11 * 2^21, b / 2^25 - (2^25 - 1) / 2^26, b * 2^7) + band(b, c) + band(-1 - b, d)
      m = band(f, g)
      a = (a + t) % 2^32
      e = (t + bxor(f / 2^2 - (2^2 - 1) / 2^3, f % 2^2 * 2^30, f / 2^13 - (2^13 - 1) / 2^14, f * 2^19, f / 2^22 - (2^22 - 1) / 2^23, f * 2^10) + m + band(h, f + g - 2 * m)) % 2^32
      t = d + K[i + 4] + w4 + bxor(a / 2^6 - (2^6 - 1) / 2^7, a % 2^6 * 2^26, a / 2^11 - (2^11 - 1) / 2^12, a % 2^11 * 2^21, a / 2^25 - (2^25 - 1) / 2^26, a * 2^7) + band(a, b) + band(-1 - a, c)
      m = band(e, f)
      h = (h + t) % 2^32
      d = (t + bxor(e / 2^2 - (2^2 - 1) / 2^3, e % 2^2 * 2^30, e / 2^13 - (2^13 - 1) / 2^14, e * 2^19, e / 2^22 - (2^22 - 1) / 2^23, e * 2^10) + m + band(g, e + f - 2 * m)) % 2^32
      t = c + K[i + 5] + w5 + bxor(h / 2^6 - (2^6 - 1) / 2^7, h % 2^6 * 2^26, h / 2^11 - (2^11 - 1) / 2^12, h % 2^11 * 2^21, h / 2^25 - (2^25 - 1) / 2^26, h * 2^7) + band(h, a) + band(-1 - h, b)
      m = band(d, e)
      g = (g + t) % 2^32
      c = (t + bxor(d / 2^2 - (2^2 - 1) / 2^3, d % 2^2 * 2^30, d / 2^13 - (2^13 - 1) / 2^14, d * 2^19, d / 2^22 - (2^22 - 1) / 2^23, d * 2^10) + m + band(f, d + e - 2 * m)) % 2^32
      t = b + K[i + 6] + w6 + bxor(g / 2^6 - (2^6 - 1) / 2^7, g % 2^6 * 2^26, g / 2^11 - (2^11 - 1) / 2^12, g % 2^11 * 2^21, g / 2^25 - (2^25 - 1) / 2^26, g * 2^7) + band(g, h) + band(-1 - g, a)
      m = band(c, d)
      f = (f + t) % 2^32
      b = (t + bxor(c / 2^2 - (2^2 - 1) / 2^3, c % 2^2 * 2^30, c / 2^13 - (2^13 - 1) / 2^14, c * 2^19, c / 2^22 - (2^22 - 1) / 2^23, c * 2^10) + m + band(e, c + d - 2 * m)) % 2^32
      t = a + K[i + 7] + w7 + bxor(f / 2^6 - (2^6 - 1) / 2^7, f % 2^6 * 2^26, f / 2^11 - (2^11 - 1) / 2^12, f % 2^11 * 2^21, f / 2^25 - (2^25 - 1) / 2^26, f * 2^7) + band(f, g) + band(-1 - f, h)
      m = band(b, c)
      e = (e + t) % 2^32
      a = (t + bxor(b / 2^2 - (2^2 - 1) / 2^3, b % 2^2 * 2^30, b / 2^13 - (2^13 - 1) / 2^14, b * 2^19, b / 2^22 - (2^22 - 1) / 2^23, b * 2^10) + m + band(d, b + c - 2 * m)) % 2^32
      t = h + K[i + 8] + w8 + bxor(e / 2^6 - (2^6 - 1) / 2^7, e % 2^6 * 2^26, e / 2^11 - (2^11 - 1) / 2^12, e % 2^11 * 2^21, e / 2^25 - (2^25 - 1) / 2^26, e * 2^7) + band(e, f) + band(-1 - e, g)
      m = band(a, b)
      d = (d + t) % 2^32
      h = (t + bxor(a / 2^2 - (2^2 - 1) / 2^3, a % 2^2 * 2^30, a / 2^13 - (2^13 - 1) / 2^14, a * 2^19, a / 2^22 - (2^22 - 1) / 2^23, a * 2^10) + m + band(c, a + b - 2 * m)) % 2^32
      t = g + K[i + 9] + w9 + bxor(d / 2^6 - (2^6 - 1) / 2^7, d % 2^6 * 2^26, d / 2^11 - (2^11 - 1) / 2^12, d % 2^11 * 2^21, d / 2^25 - (2^25 - 1) / 2^26, d * 2^7) + band(d, e) + band(-1 - d, f)
      m = band(h, a)
      c = (c + t) % 2^32
      g = (t + bxor(h / 2^2 - (2^2 - 1) / 2^3, h % 2^2 * 2^30, h / 2^13 - (2^13 - 1) / 2^14, h * 2^19, h / 2^22 - (2^22 - 1) / 2^23, h * 2^10) + m + band(b, h + a - 2 * m)) % 2^32
      t = f + K[i + 10] + w10 + bxor(c / 2^6 - (2^6 - 1) / 2^7, c % 2^6 * 2^26, c / 2^11 - (2^11 - 1) / 2^12, c % 2^11 * 2^21, c / 2^25 - (2^25 - 1) / 2^26, c * 2^7) + band(c, d) + band(-1 - c, e)
      m = band(g, h)
      b = (b + t) % 2^32
      f = (t + bxor(g / 2^2 - (2^2 - 1) / 2^3, g % 2^2 * 2^30, g / 2^13 - (2^13 - 1) / 2^14, g * 2^19, g / 2^22 - (2^22 - 1) / 2^23, g * 2^10) + m + band(a, g + h - 2 * m)) % 2^32
      t = e + K[i + 11] + w11 + bxor(b / 2^6 - (2^6 - 1) / 2^7, b % 2^6 * 2^26, b / 2^11 - (2^11 - 1) / 2^12, b % 2^11 * 2^21, b / 2^25 - (2^25 - 1) / 2^26, b * 2^7) + band(b, c) + band(-1 - b, d)
      m = band(f, g)
      a = (a + t) % 2^32
      e = (t + bxor(f / 2^2 - (2^2 - 1) / 2^3, f % 2^2 * 2^30, f / 2^13 - (2^13 - 1) / 2^14, f * 2^19, f / 2^22 - (2^22 - 1) / 2^23, f * 2^10) + m + band(h, f + g - 2 * m)) % 2^32
      t = d + K[i + 12] + w12 + bxor(a / 2^6 - (2^6 - 1) / 2^7, a % 2^6 * 2^26, a / 2^11 - (2^11 - 1) / 2^12, a % 2^11 * 2^21, a / 2^25 - (2^25 - 1) / 2^26, a * 2^7) + band(a, b) + band(-1 - a, c)
      m = band(e, f)
      h = (h + t) % 2^32
      d = (t + bxor(e / 2^2 - (2^2 - 1) / 2^3, e % 2^2 * 2^30, e / 2^13 - (2^13 - 1) / 2^14, e * 2^19, e / 2^22 - (2^22 - 1) / 2^23, e * 2^10) + m + band(g, e + f - 2 * m)) % 2^32
      t = c + K[i + 13] + w13 + bxor(h / 2^6 - (2^6 - 1) / 2^7, h % 2^6 * 2^26, h / 2^11 - (2^11 - 1) / 2^12, h % 2^11 * 2^21, h / 2^25 - (2^25 - 1) / 2^26, h * 2^7) + band(h, a) + band(-1 - h, b)
      m = band(d, e)
      g = (g + t) % 2^32
      c = (t + bxor(d / 2^2 - (2^2 - 1) / 2^3, d % 2^2 * 2^30, d / 2^13 - (2^13 - 1) / 2^14, d * 2^19, d / 2^22 - (2^22 - 1) / 2^23, d * 2^10) + m + band(f, d + e - 2 * m)) % 2^32
      t = b + K[i + 14] + w14 + bxor(g / 2^6 - (2^6 - 1) / 2^7, g % 2^6 * 2^26, g / 2^11 - (2^11 - 1) / 2^12, g % 2^11 * 2^21, g / 2^25 - (2^25 - 1) / 2^26, g * 2^7) + band(g, h) + band(-1 - g, a)
      m = band(c, d)
      f = (f + t) % 2^32
      b = (t + bxor(c / 2^2 - (2^2 - 1) / 2^3, c % 2^2 * 2^30, c / 2^13 - (2^13 - 1) / 2^14, c * 2^19, c / 2^22 - (2^22 - 1) / 2^23, c * 2^10) + m + band(e, c + d - 2 * m)) % 2^32
      t = a + K[i + 15] + w15 + bxor(f / 2^6 - (2^6 - 1) / 2^7, f % 2^6 * 2^26, f / 2^11 - (2^11 - 1) / 2^12, f % 2^11 * 2^21, f / 2^25 - (2^25 - 1) / 2^26, f * 2^7) + band(f, g) + band(-1 - f, h)
      m = band(b, c)
      e = (e + t) % 2^32
      a = (t + bxor(b / 2^2 - (2^2 - 1) / 2^3, b % 2^2 * 2^30, b / 2^13 - (2^13 - 1) / 2^14, b * 2^19, b / 2^22 - (2^22 - 1) / 2^23, b * 2^10) + m + band(d, b + c - 2 * m)) % 2^32
      -- the next 16 words of the message schedule
      if i < 49 then
        w0 = (w0 + w9 + bxor(w1 / 2^7 - (2^7 - 1) / 2^8, w1 % 2^7 * 2^25, w1 / 2^18 - (2^18 - 1) / 2^19, w1 * 2^14, w1 / 2^3 - (2^3 - 1) / 2^4) + bxor(w14 / 2^17 - (2^17 - 1) / 2^18, w14 * 2^15, w14 / 2^19 - (2^19 - 1) / 2^20, w14 * 2^13, w14 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w1 = (w1 + w10 + bxor(w2 / 2^7 - (2^7 - 1) / 2^8, w2 % 2^7 * 2^25, w2 / 2^18 - (2^18 - 1) / 2^19, w2 * 2^14, w2 / 2^3 - (2^3 - 1) / 2^4) + bxor(w15 / 2^17 - (2^17 - 1) / 2^18, w15 * 2^15, w15 / 2^19 - (2^19 - 1) / 2^20, w15 * 2^13, w15 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w2 = (w2 + w11 + bxor(w3 / 2^7 - (2^7 - 1) / 2^8, w3 % 2^7 * 2^25, w3 / 2^18 - (2^18 - 1) / 2^19, w3 * 2^14, w3 / 2^3 - (2^3 - 1) / 2^4) + bxor(w0 / 2^17 - (2^17 - 1) / 2^18, w0 * 2^15, w0 / 2^19 - (2^19 - 1) / 2^20, w0 * 2^13, w0 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w3 = (w3 + w12 + bxor(w4 / 2^7 - (2^7 - 1) / 2^8, w4 % 2^7 * 2^25, w4 / 2^18 - (2^18 - 1) / 2^19, w4 * 2^14, w4 / 2^3 - (2^3 - 1) / 2^4) + bxor(w1 / 2^17 - (2^17 - 1) / 2^18, w1 * 2^15, w1 / 2^19 - (2^19 - 1) / 2^20, w1 * 2^13, w1 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w4 = (w4 + w13 + bxor(w5 / 2^7 - (2^7 - 1) / 2^8, w5 % 2^7 * 2^25, w5 / 2^18 - (2^18 - 1) / 2^19, w5 * 2^14, w5 / 2^3 - (2^3 - 1) / 2^4) + bxor(w2 / 2^17 - (2^17 - 1) / 2^18, w2 * 2^15, w2 / 2^19 - (2^19 - 1) / 2^20, w2 * 2^13, w2 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w5 = (w5 + w14 + bxor(w6 / 2^7 - (2^7 - 1) / 2^8, w6 % 2^7 * 2^25, w6 / 2^18 - (2^18 - 1) / 2^19, w6 * 2^14, w6 / 2^3 - (2^3 - 1) / 2^4) + bxor(w3 / 2^17 - (2^17 - 1) / 2^18, w3 * 2^15, w3 / 2^19 - (2^19 - 1) / 2^20, w3 * 2^13, w3 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w6 = (w6 + w15 + bxor(w7 / 2^7 - (2^7 - 1) / 2^8, w7 % 2^7 * 2^25, w7 / 2^18 - (2^18 - 1) / 2^19, w7 * 2^14, w7 / 2^3 - (2^3 - 1) / 2^4) + bxor(w4 / 2^17 - (2^17 - 1) / 2^18, w4 * 2^15, w4 / 2^19 - (2^19 - 1) / 2^20, w4 * 2^13, w4 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w7 = (w7 + w0 + bxor(w8 / 2^7 - (2^7 - 1) / 2^8, w8 % 2^7 * 2^25, w8 / 2^18 - (2^18 - 1) / 2^19, w8 * 2^14, w8 / 2^3 - (2^3 - 1) / 2^4) + bxor(w5 / 2^17 - (2^17 - 1) / 2^18, w5 * 2^15, w5 / 2^19 - (2^19 - 1) / 2^20, w5 * 2^13, w5 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w8 = (w8 + w1 + bxor(w9 / 2^7 - (2^7 - 1) / 2^8, w9 % 2^7 * 2^25, w9 / 2^18 - (2^18 - 1) / 2^19, w9 * 2^14, w9 / 2^3 - (2^3 - 1) / 2^4) + bxor(w6 / 2^17 - (2^17 - 1) / 2^18, w6 * 2^15, w6 / 2^19 - (2^19 - 1) / 2^20, w6 * 2^13, w6 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w9 = (w9 + w2 + bxor(w10 / 2^7 - (2^7 - 1) / 2^8, w10 % 2^7 * 2^25, w10 / 2^18 - (2^18 - 1) / 2^19, w10 * 2^14, w10 / 2^3 - (2^3 - 1) / 2^4) + bxor(w7 / 2^17 - (2^17 - 1) / 2^18, w7 * 2^15, w7 / 2^19 - (2^19 - 1) / 2^20, w7 * 2^13, w7 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w10 = (w10 + w3 + bxor(w11 / 2^7 - (2^7 - 1) / 2^8, w11 % 2^7 * 2^25, w11 / 2^18 - (2^18 - 1) / 2^19, w11 * 2^14, w11 / 2^3 - (2^3 - 1) / 2^4) + bxor(w8 / 2^17 - (2^17 - 1) / 2^18, w8 * 2^15, w8 / 2^19 - (2^19 - 1) / 2^20, w8 * 2^13, w8 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w11 = (w11 + w4 + bxor(w12 / 2^7 - (2^7 - 1) / 2^8, w12 % 2^7 * 2^25, w12 / 2^18 - (2^18 - 1) / 2^19, w12 * 2^14, w12 / 2^3 - (2^3 - 1) / 2^4) + bxor(w9 / 2^17 - (2^17 - 1) / 2^18, w9 * 2^15, w9 / 2^19 - (2^19 - 1) / 2^20, w9 * 2^13, w9 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w12 = (w12 + w5 + bxor(w13 / 2^7 - (2^7 - 1) / 2^8, w13 % 2^7 * 2^25, w13 / 2^18 - (2^18 - 1) / 2^19, w13 * 2^14, w13 / 2^3 - (2^3 - 1) / 2^4) + bxor(w10 / 2^17 - (2^17 - 1) / 2^18, w10 * 2^15, w10 / 2^19 - (2^19 - 1) / 2^20, w10 * 2^13, w10 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w13 = (w13 + w6 + bxor(w14 / 2^7 - (2^7 - 1) / 2^8, w14 % 2^7 * 2^25, w14 / 2^18 - (2^18 - 1) / 2^19, w14 * 2^14, w14 / 2^3 - (2^3 - 1) / 2^4) + bxor(w11 / 2^17 - (2^17 - 1) / 2^18, w11 * 2^15, w11 / 2^19 - (2^19 - 1) / 2^20, w11 * 2^13, w11 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w14 = (w14 + w7 + bxor(w15 / 2^7 - (2^7 - 1) / 2^8, w15 % 2^7 * 2^25, w15 / 2^18 - (2^18 - 1) / 2^19, w15 * 2^14, w15 / 2^3 - (2^3 - 1) / 2^4) + bxor(w12 / 2^17 - (2^17 - 1) / 2^18, w12 * 2^15, w12 / 2^19 - (2^19 - 1) / 2^20, w12 * 2^13, w12 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
        w15 = (w15 + w8 + bxor(w0 / 2^7 - (2^7 - 1) / 2^8, w0 % 2^7 * 2^25, w0 / 2^18 - (2^18 - 1) / 2^19, w0 * 2^14, w0 / 2^3 - (2^3 - 1) / 2^4) + bxor(w13 / 2^17 - (2^17 - 1) / 2^18, w13 * 2^15, w13 / 2^19 - (2^19 - 1) / 2^20, w13 * 2^13, w13 / 2^10 - (2^10 - 1) / 2^11)) % 2^32
      end
    end
    h1, h2, h3, h4 = (h1 + a) % 2^32, (h2 + b) % 2^32, (h3 + c) % 2^32, (h4 + d) % 2^32
    h5, h6, h7, h8 = (h5 + e) % 2^32, (h6 + f) % 2^32, (h7 + g) % 2^32, (h8 + h) % 2^32
  end
  return string.format('%08x%08x%08x%08x%08x%08x%08x%08x', h1, h2, h3, h4, h5, h6, h7, h8)
end

-- Keys in byte order, as the verifier sorts them. Not Lua's `<`: it compares with strcoll, and redis-server
-- collates by its environment's locale (en_US puts requester before requestId; C and C.UTF-8 do not).
local function auditBytesBefore(x, y)
  for i = 1, math.min(#x, #y) do
    local a, b = string.byte(x, i), string.byte(y, i)
    if a ~= b then return a < b end
  end
  return #x < #y
end

-- JSON as JavaScript's JSON.stringify writes it, keys sorted: the canonical encoding both sides hash.
local auditShortEscapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function auditCanonical(v)
  local t = type(v)
  if t == 'string' then
    return '"' .. v:gsub('[%z\1-\31"\\]', function(c) return auditShortEscapes[c] or string.format('\\u%04x', string.byte(c)) end) .. '"'
  elseif t == 'number' then
    if v ~= v or v == math.huge or v == -math.huge then return 'null' end
    -- Whole milliseconds: the broker rounds before sending (domain/audit-chain.ts).
    return string.format('%d', math.floor(v + 0.5))
  elseif t == 'boolean' then
    return tostring(v)
  elseif t == 'table' then
    local n = #v
    if n > 0 then
      local parts = {}
      for i = 1, n do parts[i] = auditCanonical(v[i]) end
      return '[' .. table.concat(parts, ',') .. ']'
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, auditBytesBefore)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = auditCanonical(tostring(k)) .. ':' .. auditCanonical(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  return 'null'
end

-- The event (canonical JSON) with a whole-number field set. The broker sends such a field as 0 and it is set in
-- place, not decoded and re-encoded: in canonical JSON `{"key":0` or `,"key":0` before `,` or `}` can only be
-- that key (a quote inside a string is escaped; an audit event has no nested objects). Without that
-- placeholder: decoded, set and re-encoded.
local function auditWithNumber(canonical, key, n)
  for _, open in ipairs({ '{', ',' }) do
    local placeholder = open .. '"' .. key .. '":0'
    local s, e = string.find(canonical, placeholder, 1, true)
    local after = s and string.sub(canonical, e + 1, e + 1)
    if after == ',' or after == '}' then
      return string.sub(canonical, 1, s - 1) .. open .. '"' .. key .. '":' .. auditCanonical(n) .. string.sub(canonical, e + 1)
    end
  end
  local event = cjson.decode(canonical)
  event[key] = n
  return auditCanonical(event)
end

-- `canonical`: the event's canonical JSON, as the broker sends it or as auditCanonical gives it after a change.
local function auditAppend(stream, canonical, from)
  local seq, prev = 1, string.rep('0', 64)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if last then
    local f = last[2]
    for i = 1, #f, 2 do
      if f[i] == 'seq' then seq = tonumber(f[i + 1]) + 1 elseif f[i] == 'hash' then prev = f[i + 1] end
    end
  end
  local hash = auditSha256(prev .. '\n' .. seq .. '\n' .. canonical)
  redis.call('XADD', stream, '*', 'e', canonical, 'from', from, 'seq', seq, 'prev', prev, 'hash', hash)
end
