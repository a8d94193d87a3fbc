/**
 * An HTTP answer's body as text, or null past `max` bytes (the rest left unread and the stream
 * destroyed): a destination must not make us buffer whatever it sends. Buyers and the e-mail
 * verifier both read their answers through it.
 */
export async function readCapped(body: AsyncIterable<unknown> & { destroy(): unknown }, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      return null;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
