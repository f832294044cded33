// Levelled logging to stderr. stdout is for data only.

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface Logger {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
  readonly level: Level
}

export interface LogSink {
  write(chunk: string): unknown
}

export function createLogger(level: Level = 'info', sink: LogSink = process.stderr): Logger {
  const emit = (at: Level, prefix: string, msg: string): void => {
    if (order[at] < order[level]) return
    sink.write(`${prefix}${msg}\n`)
  }
  return {
    level,
    debug: (m) => emit('debug', 'keel: debug: ', m),
    info: (m) => emit('info', 'keel: ', m),
    warn: (m) => emit('warn', 'keel: warning: ', m),
    error: (m) => emit('error', 'keel: error: ', m),
  }
}

/** A logger that keeps its lines, for tests. */
export function createMemoryLogger(level: Level = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  const logger = createLogger(level, { write: (c: string) => lines.push(c.replace(/\n$/, '')) })
  return Object.assign(logger, { lines })
}

export const silentLogger: Logger = createLogger('silent')
