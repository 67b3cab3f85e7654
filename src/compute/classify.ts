/**
 * ORT reports every failure as a plain Error carrying a C++ message; this
 * maps those messages to our named errors (errors.ts), so the UI and the
 * scheduler can tell a bad model from a bad input from a full memory. The
 * patterns are taken from messages onnxruntime 1.30 actually produces
 * (test/unit/compute/classify.test.ts runs them through onnxruntime-node, and
 * a real out-of-memory through onnxruntime-web's WASM build: `std::bad_alloc`).
 */
import { BadInputError, ComputeError, InputShapeError, OutOfMemoryError, UnsupportedModelError, WorkerFailedError } from './errors.ts'

/** The named error for an ORT failure during session creation (`load`) or inference (`run`). */
export function classifyOrtError (err: unknown, phase: 'load' | 'run'): ComputeError {
  if (err instanceof ComputeError) return err
  const message = err instanceof Error ? err.message : String(err)
  if (/out of memory|\bOOM\b|allocation failed|Cannot enlarge memory|bad_alloc/i.test(message)) return new OutOfMemoryError(message)
  if (phase === 'load') {
    // Checked first: ORT words an unknown operator as "This is an invalid model … No Op registered for X".
    if (/No Op registered|implementation for|not a registered|not implemented|not supported|unsupported|opset/i.test(message)) return new UnsupportedModelError(`unsupported operator or opset: ${message}`)
    if (/protobuf|parse|magic|invalid model|ModelProto/i.test(message)) return new UnsupportedModelError(`not a valid ONNX model: ${message}`)
    return new UnsupportedModelError(`the runtime could not load this model: ${message}`)
  }
  if (/invalid dimensions|invalid rank|shape|dimension/i.test(message)) return new InputShapeError(message)
  if (/data type|tensor type|input .* type/i.test(message)) return new BadInputError(message)
  return new WorkerFailedError(`inference failed: ${message}`)
}

