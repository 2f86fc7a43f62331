/** C0 controls but tab and line feed, DEL, and C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Generated text as it may reach a terminal or a page: control characters (escape sequences,
 * carriage returns, bells, NUL ...) become visible symbols - C0 and DEL their Unicode control
 * pictures (`␛`, `␍`, `␡`), C1 the replacement character - so model output cannot move the cursor,
 * recolour the terminal or hide text. Tabs and line breaks stay. JSON output keeps the exact text
 * (JSON escapes controls itself).
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : '\ufffd';
  });
}
