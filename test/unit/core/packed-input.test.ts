/**
 * Packed shard inputs (src/core/packed-input.ts): a shard that deflates well
 * travels as `{ deflated: uint8 [n] }` and inflates back to exactly its
 * tensors; one that does not stays as it is; and bytes from another peer
 * that claim to be packed are refused with a reason when they are not a
 * packed input, do not inflate, inflate past the cap, or nest.
 */
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { decodeTensors, encodeTensors, makeTensor, type TensorMap } from '../../../src/core/tensors.ts'
import { PACKED_NAME, packShardInput, unpackShardInput } from '../../../src/core/packed-input.ts'

const MAX = 64 * 1024 * 1024

async function deflate (bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const packedOf = (data: Uint8Array, extra: TensorMap = {}): Uint8Array => encodeTensors({ [PACKED_NAME]: { dtype: 'uint8', dims: [data.length], data }, ...extra })

/** 256 real MNIST test digits as gray levels, the way a digits shard carries them. */
async function digitsShard (): Promise<Uint8Array> {
  const raw = await readFile('test/fixtures/digits/inputs.f32')
  const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
  const levels = Uint8Array.from({ length: 256 * 784 }, (_, i) => Math.round(floats[i % floats.length]! * 255))
  return encodeTensors({ gray: makeTensor('uint8', [256, 28, 28], levels) })
}

describe('packed shard inputs', () => {
  it('a digits shard packs to under a third of its bytes and unpacks to exactly its tensors', async () => {
    const input = await digitsShard()
    const packed = await packShardInput(input)
    expect(packed.length).toBeLessThan(input.length / 3)
    const unpacked = await unpackShardInput(packed, MAX)
    if (!unpacked.ok) throw new Error(unpacked.reason)
    expect(encodeTensors(unpacked.tensors)).toEqual(input)
  })

  it('an input that does not deflate by a quarter is posted as it is, and reads as it is', async () => {
    let x = 2463534242
    const noise = Uint8Array.from({ length: 4096 }, () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x & 0xff })
    const input = encodeTensors({ x: makeTensor('uint8', [4096], noise) })
    expect(await packShardInput(input)).toBe(input)
    const read = await unpackShardInput(input, MAX)
    expect(read.ok && encodeTensors(read.tensors)).toEqual(input)
  })

  it('refuses what only pretends to be packed', async () => {
    const inner = await deflate(encodeTensors({ x: makeTensor('float32', [2], [1, 2]) }))
    const cases: Array<[Uint8Array, RegExp]> = [
      [packedOf(inner, { y: makeTensor('uint8', [1], [0]) }), /exactly one uint8 \[n\] tensor/],
      [encodeTensors({ [PACKED_NAME]: makeTensor('float32', [1], [0]) }), /exactly one uint8 \[n\] tensor/],
      [encodeTensors({ [PACKED_NAME]: makeTensor('uint8', [1, 1], [0]) }), /exactly one uint8 \[n\] tensor/],
      [packedOf(new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x13])), /does not inflate/],
      [packedOf(await deflate(new Uint8Array([1, 2, 3]))), /the packed input: /],
      [packedOf(await deflate(packedOf(inner))), /holds another packed input/],
      [new Uint8Array([1, 2, 3]), /./]
    ]
    for (const [bytes, reason] of cases) {
      const r = await unpackShardInput(bytes, MAX)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.reason).toMatch(reason)
    }
  })

  it('stops inflating a deflate bomb at the cap', async () => {
    const bomb = packedOf(await deflate(new Uint8Array(8 * 1024 * 1024)))
    expect(bomb.length).toBeLessThan(16 * 1024)
    const r = await unpackShardInput(bomb, 1024 * 1024)
    expect(r).toEqual({ ok: false, reason: 'the packed input inflates past 1048576 bytes' })
  })

  it('packing is deterministic: the same input gives the same bytes, hence the same inputHash', async () => {
    const input = await digitsShard()
    expect(await packShardInput(input)).toEqual(await packShardInput(input))
    const d = decodeTensors(await packShardInput(input))
    expect(d.ok && Object.keys(d.tensors)).toEqual([PACKED_NAME])
  })
})
