/**
 * Shared junk inputs for every decoder and verifier in core (in the spirit of
 * noble-curves' test/utils "junk" lists): things that are not bytes, and byte
 * strings that are not canonical CBOR envelopes. Anything taking untrusted
 * input must refuse all of them with a typed result and never throw.
 */

const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)?.map(b => parseInt(b, 16)) ?? [])

/** Values of the wrong type where bytes are expected. */
export const NOT_BYTES: unknown[] = [
  undefined, null, 0, 1, -1, NaN, Infinity, 1n, '', 'deadbeef', true, false,
  {}, [], [1, 2, 3], { length: 32 }, new ArrayBuffer(32), new Uint16Array(16), new Int8Array(32),
  new Float64Array(4), new DataView(new ArrayBuffer(8)), () => new Uint8Array(32), Symbol('bytes'), new Map(), new Set()
]

/** Byte strings that must never open as an envelope. Each entry names why it is junk. */
export const JUNK_BYTES: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['one 0xff (break)', hex('ff')],
  ['one zero byte', hex('00')],
  ['32 zero bytes', new Uint8Array(32)],
  ['JSON text', new TextEncoder().encode('{"v":1,"kind":"presence"}')],
  ['CBOR null', hex('f6')],
  ['CBOR undefined', hex('f7')],
  ['CBOR true', hex('f5')],
  ['CBOR integer', hex('1864')],
  ['CBOR text', hex('6568656c6c6f')],
  ['CBOR empty map', hex('a0')],
  ['CBOR empty array', hex('80')],
  ['CBOR array of 7 nulls', hex('87f6f6f6f6f6f6f6')],
  ['truncated map header', hex('a7')],
  ['map with int key', hex('a10101')],
  ['duplicate map keys', hex('a2617601617601')],
  ['indefinite-length map', hex('bf617601ff')],
  ['indefinite-length bytes', hex('5f4101ff')],
  ['tag 0 date string', hex('c074323031332d30332d32315432303a30343a30305a')],
  ['tag 42 (CID)', hex('d82a4100')],
  ['non-minimal integer', hex('a161761801')],
  ['NaN float', hex('f97e00')],
  ['Infinity float', hex('f97c00')],
  ['bigint (tag 2)', hex('c249010000000000000000')],
  ['64-bit byte-string length with no data', hex('5bffffffffffffffff')],
  ['32-bit array length with no data', hex('9affffffff')],
  ['32-bit map length with no data', hex('bafffffff0')],
  ['text of 2^32-1 declared bytes', hex('7affffffff41')],
  ['invalid UTF-8 text', hex('62c328')],
  ['unassigned simple value', hex('f0')],
  ['reserved additional info 28', hex('1c')],
  ['deep array nesting (10 000)', new Uint8Array(10_000).fill(0x81)],
  ['deep map nesting (5 000)', Uint8Array.from({ length: 10_000 }, (_, i) => i % 2 === 0 ? 0xa1 : 0x60)],
  ['trailing garbage after a valid value', hex('a000')],
  ['64 KiB of 0xa0', new Uint8Array(64 * 1024).fill(0xa0)],
  ['1 MiB of zeros', new Uint8Array(1024 * 1024)]
]
