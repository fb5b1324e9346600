/**
 * GPT-2's reversible byte ↔ unicode mapping used by byte-level BPE vocabularies.
 *
 * Printable bytes (0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF) stand for themselves;
 * the other 68 bytes are mapped, in increasing byte order, to U+0100, U+0101, …
 * (so a space 0x20 is "Ġ" U+0120 and a newline 0x0A is "Ċ" U+010A). Every
 * mapped character is a single UTF-16 code unit, which the BPE code relies on.
 */

/** byte → the one-character string that represents it in the vocabulary */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

/** char code (U+0000..U+0143) → byte, or -1 for a character that is not a byte stand-in */
const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (out[c.charCodeAt(0)] = b));
  return out;
})();

/** The byte a vocabulary character stands for, or -1. */
export function charToByte(code: number): number {
  return code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code] : -1;
}

const te = new TextEncoder();

/** UTF-8 encode `text` and spell each byte with its stand-in character. */
export function byteEncode(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  let out = '';
  if (ascii) {
    for (let i = 0; i < text.length; i++) out += BYTE_TO_CHAR[text.charCodeAt(i)];
    return out;
  }
  for (const b of te.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
