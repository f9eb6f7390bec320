// Results compared without their message: store refusals word their message for logs, tests pin the code.
export function codeOf<R extends { ok: boolean }>(r: R): Omit<R, 'message'> {
  if (r.ok) return r;
  const { message: _message, ...rest } = r as R & { message?: string };
  return rest as Omit<R, 'message'>;
}
