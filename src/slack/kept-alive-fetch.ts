// The Slack Web API client's transport: node:http(s) with kept-alive connections instead of the global fetch
// (undici), which cost ≈ 0.3–0.5 ms more CPU per call here (1,000 chat.postMessage to the local fake: 752–1265 µs
// vs 439–717 µs per call, client and fake together); the broker makes ≈ 8 calls per approval. What the client
// sends is a text body (form or JSON); anything else (a file upload's FormData, a Request object) goes through
// the global fetch as before. No Accept-Encoding is sent, so answers come uncompressed.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https';

export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A fetch for text bodies over kept-alive connections (`tls`: extra options for HTTPS, e.g. a test's CA). */
export function keptAliveFetch(tls: AgentOptions = {}): FetchFunction {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true, ...tls });
  return (input, init = {}) => {
    const text = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : undefined;
    const url = input instanceof Request ? undefined : new URL(String(input));
    if (!url || (init.body != null && text === undefined) || (url.protocol !== 'http:' && url.protocol !== 'https:')) return globalThis.fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers).entries());
    if (text !== undefined) headers['content-length'] = String(Buffer.byteLength(text));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, { method: init.method ?? 'GET', headers, agent: url.protocol === 'https:' ? https : http }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          signal?.removeEventListener('abort', abort);
          resolve(asResponse(res, Buffer.concat(chunks), init.method));
        });
        res.on('error', reject);
      });
      // A timeout (AbortSignal.timeout) or a cancel rejects with the signal's reason, as fetch does.
      const abort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', abort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', abort);
        reject(err);
      });
      req.end(text);
    });
  };
}

/** node's answer as a fetch Response (headers as sent, repeated ones kept). */
function asResponse(res: IncomingMessage, body: Buffer, method = 'GET'): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 500;
  const empty = method === 'HEAD' || status === 204 || status === 304;
  return new Response(empty ? null : body, { status, statusText: res.statusMessage ?? '', headers });
}
