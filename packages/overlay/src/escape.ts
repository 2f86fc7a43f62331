/**
 * Text for XML and HTML without raw control characters: C0 controls (U+0000-U+001F) other than
 * tab and line feed become their Control Pictures (U+2400-U+241F: NUL shows as "␀", CR as "␍"),
 * DEL becomes "␡" (U+2421), and C1 controls (U+0080-U+009F), which have no pictures, become
 * U+FFFD. Model output can hold any of them; a page must show them, not carry them.
 */
export function replaceControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code);
    if (code === 0x7f) return '\u2421';
    return '\ufffd';
  });
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * `text` for XML or HTML text and attribute values: `& < > " '` escaped and control characters
 * replaced (see {@link replaceControlCharacters}).
 */
export function escapeXml(text: string): string {
  return replaceControlCharacters(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
