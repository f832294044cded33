// The `run:` commands of a case: host shell commands run while the guest
// runs (to talk to it over a published port, say), one at a time. Each runs
// with /bin/sh -c in the case folder, in its own process group (so killing
// it takes its children too), its output appended to one log. The first that
// fails, by exit status or signal, is the case's failure.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'

export interface CommandItem {
  text: string
  /** Its line in the expect file. */
  line: number
}

export interface CommandFailure {
  item: CommandItem
  /** "exit 1", "killed by SIGTERM", "could not start: ...", "still running at the deadline". */
  how: string
}

export interface CommandSettings {
  cwd: string
  env: NodeJS.ProcessEnv
  /** The log every command's output is appended to. */
  log: string
}

export class HostCommands {
  private readonly settings: CommandSettings
  private readonly hooks: { onFailure: (f: CommandFailure) => void; onSuccess: () => void }
  private readonly children = new Set<ChildProcess>()
  private log: WriteStream | undefined
  private deadlineKill = false
  private waiters: Array<() => void> = []
  failure: CommandFailure | undefined

  constructor(settings: CommandSettings, hooks: { onFailure: (f: CommandFailure) => void; onSuccess: () => void }) {
    this.settings = settings
    this.hooks = hooks
  }

  get running(): number {
    return this.children.size
  }

  private write(text: string): void {
    this.log ??= createWriteStream(this.settings.log, { flags: 'a' })
    this.log.write(text)
  }

  start(item: CommandItem): void {
    this.write(`$ ${item.text}    (expect line ${item.line})\n`)
    const child = spawn('/bin/sh', ['-c', item.text], {
      cwd: this.settings.cwd, env: this.settings.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    })
    this.children.add(child)
    child.stdout!.on('data', (d: Buffer) => this.write(d.toString()))
    child.stderr!.on('data', (d: Buffer) => this.write(d.toString()))
    let ended = false
    const end = (how: string | undefined): void => {
      if (ended) return
      ended = true
      this.children.delete(child)
      this.write(`[${how ?? 'exit 0'}: ${item.text}]\n`)
      if (how !== undefined && !this.failure) {
        this.failure = { item, how }
        this.hooks.onFailure(this.failure)
      } else if (how === undefined) this.hooks.onSuccess()
      if (this.children.size === 0) for (const w of this.waiters.splice(0)) w()
    }
    child.on('error', (err) => end(`could not start: ${err.message}`))
    child.on('close', (code, signal) => {
      if (this.deadlineKill) end('still running at the deadline (killed)')
      else if (signal) end(`killed by ${signal}`)
      else end(code === 0 ? undefined : `exit ${code}`)
    })
  }

  /** Kills every command still running (its whole process group). */
  killAll(): void {
    if (this.children.size === 0) return
    this.deadlineKill = true
    for (const child of this.children) {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
  }

  /** Resolves once no command is running. */
  settled(): Promise<void> {
    if (this.children.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Flushes the log. */
  async close(): Promise<void> {
    const log = this.log
    if (log) await new Promise<void>((resolve) => log.end(resolve))
  }
}
