import sonicBoom from 'sonic-boom';
import { type Fields, type LogFormat, formatJson, formatText } from './format.js';
import { LEVELS, type LevelName } from './levels.js';

// sonic-boom is CommonJS: its class is a property of the default export at run time.
const { SonicBoom } = sonicBoom;

export type LogFn = (msg: string, fields?: Fields) => void;

export interface Logger {
  readonly trace: LogFn;
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  /**
   * An info record written whatever the level, even with `-q`: where rxlb listens
   * (`listening`, `admin listening`), which a script needs to find a picked port.
   */
  readonly announce: LogFn;
  /** True when records at this level are written; lets callers skip building fields. */
  enabled(level: LevelName): boolean;
  /** Writes out what is buffered and closes the destination. */
  close(): Promise<void>;
}

/** Where log lines go: anything with `write`, or a file descriptor. */
export interface LogSink {
  write(line: string): void;
  end?(cb: () => void): void;
}

const noop: LogFn = () => undefined;

/**
 * A logger in pino's manner: a level that is off is a no-op function, so the hot path
 * pays nothing for it; lines go to a SonicBoom destination (pino's own writer) set up as
 * pino's asynchronous mode: lines gather in memory and go out in one write once 4 KiB
 * are waiting, or at the latest every `flushMs`, so a busy balancer makes one write
 * call per dozen connections instead of one each.
 */
export function createLogger(options: { level: LevelName; format: LogFormat; sink?: LogSink; fd?: number; now?: () => Date }): Logger {
  const sink = options.sink ?? createFdSink(options.fd ?? 1);
  const format = options.format === 'json' ? formatJson : formatText;
  const now = options.now ?? (() => new Date());
  const threshold = LEVELS[options.level];
  const at = (level: LevelName): LogFn =>
    LEVELS[level] >= threshold ? (msg, fields = {}) => sink.write(format(now(), level, msg, fields)) : noop;
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    announce: (msg, fields = {}) => sink.write(format(now(), 'info', msg, fields)),
    enabled: (level) => LEVELS[level] >= threshold,
    close: () => new Promise<void>((resolve) => (sink.end ? sink.end(resolve) : resolve())),
  };
}

/** How long a log line may wait in the buffer when traffic is light. */
const FLUSH_MS = 50;
/** Lines gather in one string until this many characters wait, then go to sonic-boom in one call. */
const BATCH_CHARS = 4096;

function createFdSink(fd: number): LogSink {
  // sonic-boom writes what it is handed at once, or as soon as the write in flight is
  // done (minLength 0): the batching is ours, so nothing ever needs a flush, which in
  // sonic-boom also fsyncs the file (a disk barrier every period under traffic).
  // 16 MiB of backlog at most if the reader stalls; beyond it lines are dropped rather than memory grown.
  const boom = new SonicBoom({ fd, sync: false, minLength: 0, maxLength: 16 * 1024 * 1024 });
  boom.on('error', () => undefined); // a closed stdout must not take the balancer down
  // Lines are handed to sonic-boom a batch at a time, not one by one: its write() measures
  // the UTF-8 length of the string it appends to on every call, which flattens and scans
  // everything gathered so far (each line would cost as much as the batch before it).
  let batch = '';
  const handOver = (): void => {
    if (batch === '') return;
    const lines = batch;
    batch = '';
    boom.write(lines);
  };
  // An exit we did not plan (an uncaught error) still writes what is buffered.
  const flushAtExit = (): void => {
    try {
      handOver();
      boom.flushSync();
    } catch {
      // nothing more can be done while exiting
    }
  };
  process.once('exit', flushAtExit);
  // What waits goes out at most FLUSH_MS after it was logged. (sonic-boom's own
  // periodicFlush writes, through the thread pool, every period even with nothing to
  // write: twenty wake-ups a second for an idle balancer.)
  let flushTimer: NodeJS.Timeout | undefined;
  const flushSoon = (): void => {
    flushTimer = undefined;
    handOver();
  };
  return {
    write: (line) => {
      batch += line;
      if (batch.length >= BATCH_CHARS) handOver();
      else if (flushTimer === undefined) {
        flushTimer = setTimeout(flushSoon, FLUSH_MS);
        flushTimer.unref();
      }
    },
    end: (cb) => {
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      process.off('exit', flushAtExit);
      handOver();
      boom.once('close', cb);
      boom.end();
    },
  };
}
