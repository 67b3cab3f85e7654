/**
 * Every way `src/compute` refuses a model or an input, as named error classes
 * (STYLE.md rule 4). The worker sends errors as `{ name, message }` (a class
 * instance does not survive `postMessage`); {@link reviveComputeError} turns
 * them back into these classes on the UI side, so callers match on `err.name`
 * whichever side of the worker boundary raised them.
 */

import { CodedError, type CodedErrorOptions, type ErrorParams } from '../core/errors.ts'

/** Base class of every error `src/compute` raises (a stable `name`, a human message, some a code and parameters a UI words). */
export abstract class ComputeError extends CodedError {}

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

/**
 * Every {@link BadInputError} code: the cases a user meets when uploading
 * files (Submit page, Models page), each with the parameters it is thrown
 * with. `file` may be added to any of them: the upload it is about.
 */
export const INPUT_CODES = [
  'no-files', // choose at least one file
  'empty-file', // the file is empty
  'not-image', // {type, bytes}: not an image this browser decodes
  'image-empty', // the image has no pixels
  'image-too-large', // {width, height, side}: over the pixel limit a side
  'no-canvas', // this browser cannot read pixels
  'blank-digit', // no digit in the image
  'not-wav', // no RIFF/WAVE header
  'wav-damaged', // truncated or missing chunks, odd channel count
  'wav-encoding', // {format, bits}: not PCM 16-bit or float 32-bit
  'wav-too-long', // {minutes}: over the length limit
  'wav-rate', // {rate}: not 16 kHz
  'input-too-large', // {limit}: over the byte limit of a shard (bytes)
  'not-tensor-file', // not a .json or .npy file
  'not-npy', // .npy magic missing
  'npy-dtype', // {dtype}: a dtype inputs cannot carry
  'not-json', // JSON that does not parse
  'per-shard', // {max, value}: images per shard out of range
  'no-files-route' // {model}: this model takes no file jobs
] as const

/** One of {@link INPUT_CODES}. */
export type InputCode = typeof INPUT_CODES[number]

/** Input that cannot be used at all: undecodable tensors, a non-image upload, a non-WAV file, bad .npy. */
export class BadInputError extends ComputeError {
  override readonly name = 'BadInputError' as const
  declare readonly code?: InputCode

  constructor (message: string, options?: CodedErrorOptions<InputCode>) {
    super(message, options)
  }
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

/**
 * The same error about one uploaded file: the message starts with the file
 * name and `params.file` names it. Errors of other layers become a
 * BadInputError with their message.
 */
export function aboutFile (err: unknown, file: string): ComputeError {
  const e = err instanceof ComputeError ? err : new BadInputError(err instanceof Error ? err.message : String(err))
  const Class = e.constructor as new (message: string, options?: CodedErrorOptions) => ComputeError
  return new Class(`${file}: ${e.message}`, { cause: err, ...(e.code === undefined ? {} : { code: e.code }), params: { ...e.params, file } })
}

/** Name of every compute error class. */
export type ComputeErrorName = keyof typeof CLASSES

/** Every {@link ComputeErrorName}, for tests (each has words in the UI). */
export const COMPUTE_ERROR_NAMES = Object.keys(CLASSES) as ComputeErrorName[]

/** An error as it crosses `postMessage`. */
export interface WireError { name: ComputeErrorName, message: string, code?: string, params?: ErrorParams }

/** True if `name` is one of the compute error class names. */
export function isComputeErrorName (name: unknown): name is ComputeErrorName {
  return typeof name === 'string' && Object.hasOwn(CLASSES, name)
}

/** The wire form of any thrown value; unknown errors become WorkerFailedError with their message. */
export function toWireError (err: unknown): WireError {
  if (err instanceof ComputeError && isComputeErrorName(err.name)) {
    const wire: WireError = { name: err.name, message: err.message }
    if (err.code !== undefined) wire.code = err.code
    if (err.params !== undefined) wire.params = err.params
    return wire
  }
  if (err instanceof Error && isComputeErrorName(err.name)) return { name: err.name, message: err.message }
  const message = err instanceof Error ? err.message : String(err)
  return { name: 'WorkerFailedError', message }
}

/** The named class instance for a wire error (unknown names → WorkerFailedError). */
export function reviveComputeError (wire: { name: string, message: string, code?: unknown, params?: unknown }): ComputeError {
  const Class: new (message: string, options?: CodedErrorOptions) => ComputeError = isComputeErrorName(wire.name) ? CLASSES[wire.name] as never : WorkerFailedError
  return new Class(wire.message, {
    ...(typeof wire.code === 'string' ? { code: wire.code } : {}),
    ...(isParams(wire.params) ? { params: wire.params } : {})
  })
}

function isParams (value: unknown): value is ErrorParams {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.values(value).every(v => typeof v === 'string' || typeof v === 'number')
}
