/**
 * The few BER (X.690) pieces an LDAP simple bind needs: single-byte tags, definite lengths.
 * LDAP forbids the indefinite form, so anything else is a protocol error.
 */

export interface BerElement {
  tag: number;
  value: Buffer;
  /** Offset just past the element in the buffer it was read from. */
  end: number;
}

export class BerError extends Error {
  override readonly name = 'BerError';
}

/** Reads one element at `offset`; undefined when the buffer does not hold all of it yet. */
export function readBerElement(buffer: Buffer, offset = 0, maximumLength = 65_536): BerElement | undefined {
  if (buffer.length < offset + 2) return undefined;
  const tag = buffer[offset] as number;
  const firstLengthByte = buffer[offset + 1] as number;
  let length = firstLengthByte;
  let headerLength = 2;
  if (firstLengthByte & 0x80) {
    const lengthBytes = firstLengthByte & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4) throw new BerError('unsupported BER length form');
    if (buffer.length < offset + 2 + lengthBytes) return undefined;
    length = buffer.readUIntBE(offset + 2, lengthBytes);
    headerLength += lengthBytes;
  }
  if (length > maximumLength) throw new BerError(`BER element of ${length} bytes is too large`);
  const start = offset + headerLength;
  if (buffer.length < start + length) return undefined;
  return { tag, value: buffer.subarray(start, start + length), end: start + length };
}

/** The elements inside a constructed element (a SEQUENCE or an application tag). */
export function readBerChildren(value: Buffer): BerElement[] {
  const children: BerElement[] = [];
  let offset = 0;
  while (offset < value.length) {
    const child = readBerElement(value, offset);
    if (!child) throw new BerError('truncated BER element');
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function decodeBerInteger(value: Buffer): number {
  if (value.length === 0 || value.length > 4) throw new BerError('unsupported INTEGER size');
  return value.readIntBE(0, value.length);
}

export function encodeBerElement(tag: number, value: Buffer): Buffer {
  let header: Buffer;
  if (value.length < 0x80) header = Buffer.from([tag, value.length]);
  else if (value.length <= 0xff) header = Buffer.from([tag, 0x81, value.length]);
  else if (value.length <= 0xffff) header = Buffer.from([tag, 0x82, value.length >> 8, value.length & 0xff]);
  else throw new BerError('BER element too large to encode');
  return Buffer.concat([header, value]);
}

export function encodeBerInteger(tag: number, integer: number): Buffer {
  const bytes: number[] = [];
  let rest = integer;
  do {
    bytes.unshift(rest & 0xff);
    rest >>= 8;
  } while (rest !== 0 && rest !== -1);
  // Keep the sign bit right: a positive number whose top byte has bit 7 set needs a leading zero.
  if (integer >= 0 && ((bytes[0] as number) & 0x80) !== 0) bytes.unshift(0);
  return encodeBerElement(tag, Buffer.from(bytes));
}
