/**
 * Every way `src/compute` refuses a model or an input, as named error classes
 * (STYLE.md rule 4). The worker sends errors as `{ name, message }` (a class
 * instance does not survive `postMessage`); {@link reviveComputeError} turns
 * them back into these classes on the UI side, so callers match on `err.name`
 * whichever side of the worker boundary raised them.
 */

/** Base class: all compute errors carry a stable `name` and a human message. */
export abstract class ComputeError extends Error {
  abstract override readonly name: string
}

/** The model bytes do not hash to the sha256 the catalog or the manifest names. */
export class ModelHashMismatchError extends ComputeError {
  override readonly name = 'ModelHashMismatchError' as const
}

/** Not an ONNX file, or one using an operator / opset this runtime cannot run. */
export class UnsupportedModelError extends ComputeError {
  override readonly name = 'UnsupportedModelError' as const
}

/** The runtime ran out of memory creating a session or running it. */
export class OutOfMemoryError extends ComputeError {
  override readonly name = 'OutOfMemoryError' as const
}

/** An input tensor's dims do not fit the model's declared input shape. */
export class InputShapeError extends ComputeError {
  override readonly name = 'InputShapeError' as const
}

/** Input that cannot be used at all: undecodable tensors, a non-image upload, a non-WAV file, bad .npy. */
export class BadInputError extends ComputeError {
  override readonly name = 'BadInputError' as const
}

/** The caller aborted the operation through its AbortSignal. */
export class CancelledError extends ComputeError {
  override readonly name = 'CancelledError' as const
}

/** No execution provider could be initialised (no WebAssembly, or every provider failed). */
export class ProviderUnavailableError extends ComputeError {
  override readonly name = 'ProviderUnavailableError' as const
}

/** The model was never loaded in this worker (or was evicted): load it before running. */
export class ModelNotLoadedError extends ComputeError {
  override readonly name = 'ModelNotLoadedError' as const
}

/** The worker itself failed (crashed, failed to start, answered nonsense). */
export class WorkerFailedError extends ComputeError {
  override readonly name = 'WorkerFailedError' as const
}

const CLASSES = {
  ModelHashMismatchError,
  UnsupportedModelError,
  OutOfMemoryError,
  InputShapeError,
  BadInputError,
  CancelledError,
  ProviderUnavailableError,
  ModelNotLoadedError,
  WorkerFailedError
} as const

/** Name of every compute error class. */
export type ComputeErrorName = keyof typeof CLASSES

/** An error as it crosses `postMessage`. */
export interface WireError { name: ComputeErrorName, message: string }

/** True if `name` is one of the compute error class names. */
export function isComputeErrorName (name: unknown): name is ComputeErrorName {
  return typeof name === 'string' && Object.hasOwn(CLASSES, name)
}

/** The wire form of any thrown value; unknown errors become WorkerFailedError with their message. */
export function toWireError (err: unknown): WireError {
  if (err instanceof Error && isComputeErrorName(err.name)) return { name: err.name, message: err.message }
  const message = err instanceof Error ? err.message : String(err)
  return { name: 'WorkerFailedError', message }
}

/** The named class instance for a wire error (unknown names → WorkerFailedError). */
export function reviveComputeError (wire: { name: string, message: string }): ComputeError {
  const Class = isComputeErrorName(wire.name) ? CLASSES[wire.name] : WorkerFailedError
  return new Class(wire.message)
}
