// The signed-in session: which token, of which kind, kept in sessionStorage
// only (never in a URL, a cookie or a log), so it ends with the tab. It also
// ends after IDLE_LIMIT_MS without a request, and whenever the API refuses
// its token (rotated, deleted, or a changed admin token).

const STORAGE_KEY = 'kv-console-session';
export const IDLE_LIMIT_MS = 30 * 60 * 1000;

/**
 * The session kept for this tab: `{ session }` (`{ kind: 'operator' |
 * 'store', token, region? }`), `{ expired: true }` when it timed out (it is
 * then cleared), or `{}`.
 */
export function readSession(now = Date.now()) {
  let kept;
  try {
    kept = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    kept = null;
  }
  if (!kept || typeof kept.token !== 'string' || !['operator', 'store'].includes(kept.kind)) return {};
  if (!(kept.expiresAt > now)) {
    clearSession();
    return { expired: true };
  }
  const { kind, token, region } = kept;
  return { session: { kind, token, region } };
}

export function writeSession({ kind, token, region }, now = Date.now()) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ kind, token, region, expiresAt: now + IDLE_LIMIT_MS }));
}

export function clearSession() {
  sessionStorage.removeItem(STORAGE_KEY);
}
