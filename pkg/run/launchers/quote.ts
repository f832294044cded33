// Quoting for the languages the launchers write: POSIX sh and PowerShell.
// Every value from the user (names, paths, command lines) goes through these;
// nothing is pasted into a script unquoted.

/** One word for POSIX sh: bare when it holds only safe characters, else in single quotes. */
export function quoteSh(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  // Inside single quotes nothing is special but the quote itself: close, add \', reopen.
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** An argv as one sh command line. */
export function formatShCommand(argv: string[]): string {
  return argv.map(quoteSh).join(' ')
}

/**
 * A PowerShell single-quoted string, in which nothing is expanded ($, `, ").
 * PowerShell takes the typographic single quotes (U+2018..U+201B) as quote
 * marks too, so each of them is doubled as well as the ASCII one.
 */
export function quotePs(s: string): string {
  return `'${s.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`
}
