// Escaping for every output format: HTML (a tagged template that escapes each interpolation unless
// it is already SafeHtml), Markdown text (backslash escapes, not entities), and CSV fields.

/** Markup that is already escaped or built from constants. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function piece(v: unknown): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(piece).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

/**
 * `html\`<td>${name}</td>\`` escapes `name`; nested `html` results, arrays of them and `raw()`
 * constants pass through. Every string that comes from results or profiles goes through here.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += piece(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** Trusted markup (constants such as the style sheet). Never pass data from results here. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * Text for a Markdown table cell or paragraph, escaped the Markdown way (backslashes), never with
 * HTML entities: a raw summary.md is read in terminals and CI logs too, where `&amp;&amp;` in a
 * command is noise. `<` and `>` are backslash-escaped, so GitHub starts no inline HTML; `&` only where
 * it would begin an entity (`&amp;` stays those five characters); the punctuation that can start
 * emphasis, code, links or table cells is backslash-escaped; newlines become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/([\\`*_[\]|~<>])/g, '\\$1')
    .replace(/&(?=#?[a-zA-Z0-9]+;)/g, '\\&')
    .replace(/\r?\n/g, ' ');
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text starting with
 * = + - @ or a tab is prefixed with ' so a spreadsheet does not run it as a formula (OWASP "CSV
 * injection"); numbers are written as numbers.
 */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
