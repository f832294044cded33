// The console's escape key. With the terminal in raw mode every byte goes to
// the guest, Ctrl-C included; Ctrl-] (as telnet has it) followed by one key
// talks to keel instead:
//   q  quit: kill QEMU at once
//   p  power off: press the ACPI power button (the guest shuts down cleanly)
//   ?  help (h too)
//   Ctrl-]  send one Ctrl-] to the guest
// Any other key after Ctrl-] is dropped, and the help shown.

export const escapeByte = 0x1d
export const escapeName = 'Ctrl-]'

export type EscapeCommand = 'quit' | 'poweroff' | 'help'

export type ConsoleInput = { data: Buffer } | { command: EscapeCommand }

export const escapeHelp = `${escapeName} then: q quit (kill QEMU), p power off (ACPI power button), ? this help, ${escapeName} send ${escapeName}`

/** Splits terminal input into bytes for the guest and escape commands, in order; the escape may span chunks. */
export class EscapeFilter {
  private pending = false

  push(chunk: Uint8Array): ConsoleInput[] {
    const out: ConsoleInput[] = []
    let start = 0
    const flush = (end: number): void => {
      if (end > start) out.push({ data: Buffer.from(chunk.subarray(start, end)) })
    }
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!
      if (this.pending) {
        this.pending = false
        start = i + 1
        if (b === escapeByte) out.push({ data: Buffer.from([escapeByte]) })
        else if (b === 0x71 || b === 0x51) out.push({ command: 'quit' }) // q Q
        else if (b === 0x70 || b === 0x50) out.push({ command: 'poweroff' }) // p P
        else out.push({ command: 'help' })
      } else if (b === escapeByte) {
        flush(i)
        this.pending = true
        start = i + 1
      }
    }
    if (!this.pending) flush(chunk.length)
    return out
  }
}
