/**
 * A log that writes at most one line per key per interval. A source that fails on every poll (a
 * gateway restarting, scraped four times a second) then says so once in a while instead of
 * flooding the log; the first line of a key is always written.
 */
export type RateLimitedLog = (key: string, line: string) => void;

/** See the module comment. `clock` gives milliseconds (`Date.now` by default). */
export function rateLimitedLog(
  log: (line: string) => void,
  intervalMs: number,
  clock: () => number = Date.now,
): RateLimitedLog {
  const lastLogged = new Map<string, number>();
  return (key, line) => {
    const now = clock();
    const last = lastLogged.get(key);
    if (last !== undefined && now - last < intervalMs) return;
    lastLogged.set(key, now);
    log(line);
  };
}
