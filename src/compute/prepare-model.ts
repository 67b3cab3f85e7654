/**
 * The smallest model the worker can start its runtime on before a job brings
 * a real one (ComputeClient.prepare): one Identity node, float32 [1] → [1],
 * ONNX IR 8, opset 13. Written by scripts/onnx-writer.ts; a unit test checks
 * these bytes are still exactly what it writes, and that they run.
 */
import { fromBase64 } from '../core/bytes.ts'

const BASE64 = 'CAgSBmVzc2FpbRoBMTo9ChAKAXgSAXkiCElkZW50aXR5EgdwcmVwYXJlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUICEA0='

export const PREPARE_MODEL: Uint8Array = fromBase64(BASE64)!
