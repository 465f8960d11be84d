/**
 * The integer in `bytes[start, end)` (an optional '-' then digits), or NaN. Parsing the bytes in
 * place spares the gateway a string per header line: it reads every command and reply it forwards.
 */
export function parseRespInteger(bytes: Buffer, start: number, end: number): number {
  let index = start;
  let negative = false;
  if (bytes[index] === 0x2d /* '-' */) {
    negative = true;
    index += 1;
  }
  if (index >= end) return Number.NaN;
  let value = 0;
  for (; index < end; index += 1) {
    const digit = (bytes[index] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}
