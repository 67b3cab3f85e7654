/**
 * A module Worker that turns uploaded digit images into the 784 gray levels
 * a digits shard carries (src/compute/digit-reader.ts runs a few of them).
 * Decoding and normalising here keeps a large job's reading off the page's
 * thread, and several of these read on every core.
 */
import { decodeImage } from './models/image.ts'
import { digitGray } from './models/digits.ts'
import { toWireError } from './errors.ts'
import type { DigitReply, DigitRequest } from './digit-reader.ts'

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<DigitRequest>) => void) | null
  postMessage: (msg: DigitReply, transfer?: Transferable[]) => void
}

scope.onmessage = e => { void read(e.data) }

async function read ({ id, file }: DigitRequest): Promise<void> {
  try {
    const gray = digitGray(await decodeImage(file))
    scope.postMessage({ id, gray }, [gray.buffer])
  } catch (err) {
    scope.postMessage({ id, error: toWireError(err) })
  }
}
