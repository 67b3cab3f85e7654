/**
 * Every way a `src/net` operation fails for a reason the caller should act
 * on, as named error classes (STYLE.md rule 4). Callers match on `err.name`,
 * which survives `postMessage`; TypeScript narrows on the literal names.
 *
 * Blob errors say which peer and which hash were involved, so a caller can
 * mark that peer as a bad source and try the next one.
 */

/** Base class: all net errors carry a stable `name` and a human message. */
export abstract class NetError extends Error {
  abstract override readonly name: string
}

/** The peer does not hold a blob with this sha256. */
export class BlobNotFoundError extends NetError {
  override readonly name = 'BlobNotFoundError' as const
  constructor (readonly peer: string, readonly sha256: string) {
    super(`peer ${peer} does not have blob ${sha256}`)
  }
}

/** The bytes a peer sent do not hash to the sha256 we asked for. */
export class BlobHashMismatchError extends NetError {
  override readonly name = 'BlobHashMismatchError' as const
  constructor (readonly peer: string, readonly expected: string, readonly actual: string) {
    super(`peer ${peer} sent bytes hashing to ${actual}, not ${expected}`)
  }
}

/**
 * The blob is larger than a cap: the caller's (expected size or `maxBytes`),
 * checked before anything is allocated, or the serving peer's own limit.
 */
export class BlobTooLargeError extends NetError {
  override readonly name = 'BlobTooLargeError' as const
  constructor (readonly peer: string, readonly size: number | undefined, readonly limit: number | undefined) {
    super(size === undefined
      ? `peer ${peer} refused: blob exceeds its size limit`
      : `peer ${peer} announced ${size} bytes, over the limit of ${limit ?? '?'} bytes`)
  }
}

/** The peer is already serving as many blobs as it allows; try another peer or later. */
export class BlobBusyError extends NetError {
  override readonly name = 'BlobBusyError' as const
  constructor (readonly peer: string) {
    super(`peer ${peer} is busy serving other blobs`)
  }
}

/** The transfer did not finish in time (overall deadline or an idle stream). */
export class BlobTimeoutError extends NetError {
  override readonly name = 'BlobTimeoutError' as const
  constructor (readonly peer: string, readonly sha256: string, options?: ErrorOptions) {
    super(`fetching blob ${sha256} from ${peer} timed out`, options)
  }
}

/**
 * The peer broke the blob protocol: a malformed header, a size other than
 * the one expected, more bytes than announced, or a stream that ended early.
 */
export class BlobProtocolError extends NetError {
  override readonly name = 'BlobProtocolError' as const
  constructor (readonly peer: string, reason: string, options?: ErrorOptions) {
    super(`blob protocol error from ${peer}: ${reason}`, options)
  }
}

/** A work exchange failed: the stream broke, or the other side sent a malformed or oversized frame. */
export class WorkProtocolError extends NetError {
  override readonly name = 'WorkProtocolError' as const
  constructor (readonly peer: string, reason: string, options?: ErrorOptions) {
    super(`work protocol error with ${peer}: ${reason}`, options)
  }
}

/**
 * A log catch-up exchange failed: the stream broke, or the requester sent a
 * malformed, oversized or forged reply (a receipt that does not verify, is
 * not its own, or answers an index nobody asked for).
 */
export class LogProtocolError extends NetError {
  override readonly name = 'LogProtocolError' as const
  constructor (readonly peer: string, reason: string, options?: ErrorOptions) {
    super(`log protocol error with ${peer}: ${reason}`, options)
  }
}

/** The requester declined a log catch-up (busy, asked too often, or not serving a log): try later. */
export class LogRefusedError extends NetError {
  override readonly name = 'LogRefusedError' as const
  constructor (readonly peer: string, readonly reason: string) {
    super(`peer ${peer} refused a log catch-up: ${reason}`)
  }
}

/** Every error `fetchBlob` rejects with, apart from the caller's own abort reason. */
export type BlobFetchError =
  | BlobNotFoundError
  | BlobHashMismatchError
  | BlobTooLargeError
  | BlobBusyError
  | BlobTimeoutError
  | BlobProtocolError

/**
 * Names of what @libp2p/utils' lpStream throws for a frame it cannot read
 * (length over the cap, malformed varint, stream ended mid-frame): the peer
 * sent garbage, and is answered with a refusal rather than a reset stream.
 */
export const FRAMING_ERRORS: ReadonlySet<string> = new Set([
  'InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'UnexpectedEOFError'
])
