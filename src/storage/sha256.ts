/** SHA-256 of bytes as lowercase hex, with WebCrypto (browsers, workers, Node ≥ 20). */
export async function sha256Hex(data: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  let s = '';
  for (const b of digest) s += b.toString(16).padStart(2, '0');
  return s;
}
