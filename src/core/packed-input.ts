/**
 * Packed shard inputs. A shard input is `encodeTensors` bytes; when those
 * deflate well (digits are mostly blank paper: 256 images of gray levels
 * shrink about five-fold), the requester posts instead the one-tensor map
 * `{ deflated: uint8 [n] }` holding the deflate-raw bytes of the real map.
 * The shard's inputHash is the hash of what is posted and sent, so nothing
 * else changes: fewer bytes cross the WebRTC data channel (which, on a busy
 * machine, carries a few MB/s: the bound on how fast a volunteer can be fed
 * a small model's inputs), and the volunteer inflates them in its worker.
 *
 * Inflating bytes from another peer is bounded: past `maxBytes` the stream
 * is cancelled and the input refused, so a deflate bomb costs its sender a
 * lease, not the volunteer its memory. Uses the platform's
 * CompressionStream / DecompressionStream (browsers, workers and Node).
 */
import { concat } from './bytes.ts'
import { decodeTensors, encodeTensors, type TensorMap } from './tensors.ts'

/** The name of the one tensor of a packed input. */
export const PACKED_NAME = 'deflated'

/** Pack only when it saves at least a quarter of the bytes (inflating costs the volunteer a little CPU). */
const WORTH_PACKING = 0.75

/** `input` packed, or `input` itself when deflate does not save a quarter of it. */
export async function packShardInput (input: Uint8Array): Promise<Uint8Array> {
  const deflated = await transform(input, new CompressionStream('deflate-raw'), Infinity)
  if (deflated === undefined) return input
  const packed = encodeTensors({ [PACKED_NAME]: { dtype: 'uint8', dims: [deflated.length], data: deflated } })
  return packed.length <= input.length * WORTH_PACKING ? packed : input
}

/** The result of {@link unpackShardInput}: the shard's real tensors, or why not. */
export type Unpacked = { ok: true, tensors: TensorMap } | { ok: false, reason: string }

/**
 * The tensors a shard input carries, inflating a packed one. Never throws.
 * `maxBytes` caps both the input and what it inflates to.
 */
export async function unpackShardInput (input: Uint8Array, maxBytes: number): Promise<Unpacked> {
  const decoded = decodeTensors(input, { maxBytes })
  if (!decoded.ok) return decoded
  const names = Object.keys(decoded.tensors)
  const packed = decoded.tensors[PACKED_NAME]
  if (packed === undefined) return decoded
  if (names.length !== 1 || packed.dtype !== 'uint8' || packed.dims.length !== 1) {
    return { ok: false, reason: `a packed input is exactly one uint8 [n] tensor named "${PACKED_NAME}"` }
  }
  let inflated: Uint8Array | undefined
  try {
    inflated = await transform(packed.data, new DecompressionStream('deflate-raw'), maxBytes)
  } catch (err) {
    return { ok: false, reason: `the packed input does not inflate: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (inflated === undefined) return { ok: false, reason: `the packed input inflates past ${maxBytes} bytes` }
  const inner = decodeTensors(inflated, { maxBytes })
  if (!inner.ok) return { ok: false, reason: `the packed input: ${inner.reason}` }
  if (inner.tensors[PACKED_NAME] !== undefined) return { ok: false, reason: 'a packed input holds another packed input' }
  return inner
}

/** Runs `bytes` through a (de)compression stream; undefined once the output passes `maxBytes`. */
async function transform (bytes: Uint8Array, stream: CompressionStream | DecompressionStream, maxBytes: number): Promise<Uint8Array | undefined> {
  const writer = stream.writable.getWriter()
  // Errors surface on the reading side; the writer's own promises must not go unhandled.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {})
  writer.close().catch(() => {})
  const reader = stream.readable.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > maxBytes) { await reader.cancel().catch(() => {}); return undefined }
    chunks.push(value)
  }
  return concat(...chunks)
}
