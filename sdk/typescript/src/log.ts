/** The worker's log: one line per event on stderr, or any object with these methods. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];

/** A logger writing "<time> <LEVEL> gopher-worker: message" at `level` and above
 * (default $GOPHER_LOG_LEVEL, else info; WARNING is read as warn). */
export function consoleLogger(level: string = process.env.GOPHER_LOG_LEVEL ?? "info"): Logger {
  const wanted = level.toLowerCase().replace(/^warning$/, "warn") as Level;
  const min = Math.max(0, LEVELS.indexOf(wanted));
  const line = (l: Level) => (message: string) => {
    if (LEVELS.indexOf(l) >= min) {
      process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} gopher-worker: ${message}\n`);
    }
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}
