/**
 * Signed envelopes: the only shape in which anything a peer says travels or
 * is stored. An envelope is the canonical CBOR map (RFC 8949 §4.2.1)
 *
 *     { v: 1, kind, signer: pubkey(32), seq, ts, body, sig: ed25519(64) }
 *
 * and the signature covers the domain-separated bytes
 *
 *     utf8("essaim/v1/" + kind) ‖ canonical({ v, kind, signer, seq, ts, body })
 *
 * so a signature made for one kind can never be presented as another (the
 * kind is both in the tag and inside the signed map). The envelope id is
 * SHA-256 of that canonical map without the signature: it names the content,
 * and a re-signed copy (Ed25519 is deterministic, so only another key could
 * make one) does not change it.
 *
 * `open()` is the gate for untrusted bytes. Cheap checks run first (byte cap,
 * canonical CBOR, shape, version, kind, per-kind cap, body schema, clock),
 * then the signature, then the replay window (only for signatures that
 * verified, so forgeries cannot burn a signer's seqs). It never throws: every
 * refusal is a named error from errors.ts.
 */
import { concat, sha256, utf8 } from './bytes.ts'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { BYTE_CAPS, DOMAIN_PREFIX, ENVELOPE_VERSION, KINDS, MAX_ENVELOPE_BYTES, type Kind } from './constants.ts'
import {
  BadSignatureError, FutureMessageError, InvalidEnvelopeError, OversizedError, ReplayError, SchemaError,
  StaleMessageError, UnexpectedKindError, UnknownVersionError, type OpenError
} from './errors.ts'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, signAsync, verifySignature, verifySignatureAsync, type Identity } from './identity.ts'
import { ReplayWindow } from './replay.ts'
import { checkBody, type BodyOf, type ReceiptBody } from './schemas.ts'
import { isPlainObject } from './validate.ts'

export type { Kind } from './constants.ts'
export type { BodyOf } from './schemas.ts'
export { ReplayWindow } from './replay.ts'

/** An opened (verified) envelope of kind `K`. */
export interface Envelope<K extends Kind = Kind> {
  v: typeof ENVELOPE_VERSION
  kind: K
  /** Ed25519 public key of the signer (32 bytes). */
  signer: Uint8Array
  /** Per (signer, kind) sequence number, for replay protection. */
  seq: number
  /** Signing time, ms since epoch. */
  ts: number
  body: BodyOf<K>
  /** Ed25519 signature over {@link signingBytes} (64 bytes). */
  sig: Uint8Array
  /** SHA-256 of the canonical unsigned map: the content id. */
  id: Uint8Array
}

/** An envelope of one of the kinds in `K`, narrowed by `kind` (distributes over the union). */
export type AnyEnvelope<K extends Kind = Kind> = K extends Kind ? Envelope<K> : never

/** Sequence number and timestamp chosen by the signer. */
export interface SealMeta {
  /** Non-negative safe integer, increasing per (signer, kind). */
  seq: number
  /** ms since epoch. */
  ts: number
}

export interface OpenOptions<K extends Kind = Kind> {
  /** Current time in ms (default `Date.now()`), for the age checks. */
  now?: number
  /** Kinds accepted here; others give `UnexpectedKindError`. Default: all. */
  kinds?: readonly K[]
  /** Refuse envelopes signed more than this long before `now`. Default: no age limit (offline checks). */
  maxAgeMs?: number
  /** Refuse envelopes dated more than this after `now`. Default: no limit. */
  maxFutureMs?: number
  /** Replay window to consult and update; default none. */
  replay?: ReplayWindow
}

/** What `open()` returns: the envelope, or the named reason it was refused. */
export type OpenResult<K extends Kind = Kind> =
  | { ok: true, envelope: AnyEnvelope<K> }
  | { ok: false, error: OpenError }

const TAGS = new Map<string, Uint8Array>(KINDS.map(k => [k, utf8(DOMAIN_PREFIX + k)]))
const ENVELOPE_KEYS = ['body', 'kind', 'seq', 'sig', 'signer', 'ts', 'v']

function isKind (k: unknown): k is Kind {
  return typeof k === 'string' && TAGS.has(k)
}

/** The bytes an envelope's signature covers: the kind's domain tag, then the canonical unsigned map. */
export function signingBytes (kind: Kind, canonicalUnsigned: Uint8Array): Uint8Array {
  return concat(TAGS.get(kind)!, canonicalUnsigned)
}

function isTime (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/**
 * Signs `body` as a `kind` envelope and returns its canonical bytes.
 * @throws {SchemaError} if the body does not pass its kind's schema or `meta` is not two non-negative safe integers.
 * @throws {OversizedError} if the envelope would exceed its kind's byte cap.
 * @throws {InvalidKeyError} if the identity's seed is malformed.
 */
export function seal<K extends Kind> (kind: K, body: BodyOf<K>, identity: Identity, meta: SealMeta): Uint8Array {
  const unsigned = unsignedFor(kind, body, identity, meta)
  const bytes = encodeCanonical(unsigned)
  return sealed(kind, bytes, sign(identity, signingBytes(kind, bytes)))
}

/**
 * {@link seal} with the signature made on the platform's native Ed25519
 * where there is one (identity.ts `signAsync`): the same bytes, sooner.
 * @throws as {@link seal} does.
 */
export async function sealAsync<K extends Kind> (kind: K, body: BodyOf<K>, identity: Identity, meta: SealMeta): Promise<Uint8Array> {
  const unsigned = unsignedFor(kind, body, identity, meta)
  const bytes = encodeCanonical(unsigned)
  return sealed(kind, bytes, await signAsync(identity, signingBytes(kind, bytes)))
}

interface Unsigned<K extends Kind> { v: typeof ENVELOPE_VERSION, kind: K, signer: Uint8Array, seq: number, ts: number, body: BodyOf<K> }

function unsignedFor<K extends Kind> (kind: K, body: BodyOf<K>, identity: Identity, meta: SealMeta): Unsigned<K> {
  if (!isKind(kind)) throw new SchemaError(`unknown kind ${String(kind)}`)
  const bad = checkBody(kind, body)
  if (bad !== undefined) throw new SchemaError(bad)
  if (!isTime(meta.seq)) throw new SchemaError('seq must be a non-negative safe integer')
  if (!isTime(meta.ts)) throw new SchemaError('ts must be a non-negative safe integer')
  return { v: ENVELOPE_VERSION, kind, signer: identity.publicKey, seq: meta.seq, ts: meta.ts, body }
}

function sealed (kind: Kind, unsigned: Uint8Array, sig: Uint8Array): Uint8Array {
  const bytes = withSig(unsigned, sig)
  if (bytes.length > BYTE_CAPS[kind]) throw new OversizedError(`${kind} envelope of ${bytes.length} bytes exceeds the cap of ${BYTE_CAPS[kind]}`)
  return bytes
}

/*
 * The signed and the unsigned map differ by one entry. Canonical CBOR sorts
 * map keys bytewise by their encoding, so an envelope's entries always come
 * as v, ts, seq, sig, body, kind, signer, and the `sig` entry is 70 bytes
 * ("sig", then a 64-byte string) after three small integers. Adding or
 * removing it is a splice of the bytes, not a second encoding of the whole
 * map (the body can be kilobytes); the unit tests hold it equal to encoding.
 */
const SIG_ENTRY_HEAD = Uint8Array.of(0x63, 0x73, 0x69, 0x67, 0x58, SIGNATURE_BYTES) // "sig": bytes(64)
const SIG_ENTRY_BYTES = SIG_ENTRY_HEAD.length + SIGNATURE_BYTES
/** The entries before `sig`: each key's encoding, followed by an unsigned integer. */
const KEYS_BEFORE_SIG = [[0x61, 0x76], [0x62, 0x74, 0x73], [0x63, 0x73, 0x65, 0x71]] // "v", "ts", "seq"

/** Where the `sig` entry is (or goes) in a canonical envelope map, or undefined if its first entries are not v, ts, seq. */
function sigOffset (map: Uint8Array): number | undefined {
  let at = 1
  for (const key of KEYS_BEFORE_SIG) {
    for (const b of key) if (map[at++] !== b) return undefined
    const head = map[at]
    if (head === undefined || head >> 5 !== 0) return undefined
    const extra = head & 0x1f
    at += extra < 24 ? 1 : extra === 24 ? 2 : extra === 25 ? 3 : extra === 26 ? 5 : extra === 27 ? 9 : Infinity
  }
  return at <= map.length ? at : undefined
}

/** The canonical envelope: the canonical unsigned map (6 entries) with the `sig` entry added. */
function withSig (unsigned: Uint8Array, sig: Uint8Array): Uint8Array {
  const at = sigOffset(unsigned)
  if (unsigned[0] !== 0xa6 || at === undefined || sig.length !== SIGNATURE_BYTES) throw new Error('not a canonical unsigned envelope map')
  const out = new Uint8Array(unsigned.length + SIG_ENTRY_BYTES)
  out[0] = 0xa7
  out.set(unsigned.subarray(1, at), 1)
  out.set(SIG_ENTRY_HEAD, at)
  out.set(sig, at + SIG_ENTRY_HEAD.length)
  out.set(unsigned.subarray(at), at + SIG_ENTRY_BYTES)
  return out
}

/** The canonical unsigned map of a canonical envelope (7 entries, checked before): its bytes without the `sig` entry. */
function withoutSig (bytes: Uint8Array): Uint8Array | undefined {
  const at = sigOffset(bytes)
  if (bytes[0] !== 0xa7 || at === undefined || at + SIG_ENTRY_BYTES > bytes.length) return undefined
  for (let i = 0; i < SIG_ENTRY_HEAD.length; i++) if (bytes[at + i] !== SIG_ENTRY_HEAD[i]) return undefined
  const out = new Uint8Array(bytes.length - SIG_ENTRY_BYTES)
  out[0] = 0xa6
  out.set(bytes.subarray(1, at), 1)
  out.set(bytes.subarray(at + SIG_ENTRY_BYTES), at)
  return out
}

/**
 * Checks untrusted bytes and returns the typed envelope, or the reason they
 * were refused (one of {@link OpenError}). Never throws.
 */
export function open<K extends Kind = Kind> (bytes: Uint8Array, options: OpenOptions<K> = {}): OpenResult<K> {
  const p = parse(bytes, options)
  if (!p.ok) return p
  return opened(p, verifySignature(p.sig, p.signed, p.signer), options)
}

/**
 * {@link open}, with the same answer, the signature checked on the
 * platform's native Ed25519 (identity.ts `verifySignatureAsync`) instead of
 * holding the thread on pure JS. A receipt's verdict and tree head are
 * verified natively alongside (identity.ts remembers successes), so the
 * synchronous checks of them that follow (`verifyReceipt`) find them
 * verified. What a gossip validator uses: the bytes are parsed once. Never rejects.
 */
export async function openAsync<K extends Kind = Kind> (bytes: Uint8Array, options: OpenOptions<K> = {}): Promise<OpenResult<K>> {
  const p = parse(bytes, options)
  if (!p.ok) return p
  // A receipt carries the verdict and tree head it proves (one level: those carry no envelopes).
  const inner = p.kind === 'receipt' ? [(p.body as ReceiptBody).verdict, (p.body as ReceiptBody).head] : []
  const [valid] = await Promise.all([verifySignatureAsync(p.sig, p.signed, p.signer), ...inner.map(verifyInner)])
  return opened(p, valid, options)
}

/**
 * Checks the signature of an envelope a receipt carries natively, only so
 * that the synchronous open() of it that follows finds it verified: it
 * decides nothing, and bytes that do not parse or verify are left for
 * open() to refuse with its reason.
 */
async function verifyInner (bytes: Uint8Array): Promise<void> {
  const p = parse(bytes, {})
  if (p.ok) await verifySignatureAsync(p.sig, p.signed, p.signer)
}

/** The end of {@link open} once the signature is checked: the replay window, then the envelope. */
function opened<K extends Kind> (p: Parsed<K>, valid: boolean, options: OpenOptions<K>): OpenResult<K> {
  const { kind, signer, seq, ts, body, sig, unsigned } = p
  if (!valid) return { ok: false, error: new BadSignatureError(`signature does not verify for this ${kind}`) }
  // The replay window only counts signatures that verified.
  if (options.replay !== undefined && !options.replay.check({ kind, signer, seq })) {
    return { ok: false, error: new ReplayError(`${kind} seq ${seq} from this signer was already seen`) }
  }
  const envelope = { v: ENVELOPE_VERSION, kind, signer, seq, ts, body, sig, id: sha256(unsigned) }
  return { ok: true, envelope: envelope as AnyEnvelope<K> }
}

/** What open() has checked before the signature: the fields, and the bytes the signature covers. */
interface Parsed<K extends Kind> {
  ok: true
  kind: K
  signer: Uint8Array
  seq: number
  ts: number
  body: BodyOf<K>
  sig: Uint8Array
  unsigned: Uint8Array
  signed: Uint8Array
}

/** The cheap checks, in order: byte cap, canonical CBOR, shape, version, kind, per-kind cap, body schema, clock. */
function parse<K extends Kind> (bytes: Uint8Array, options: OpenOptions<K>): Parsed<K> | { ok: false, error: OpenError } {
  const fail = (error: OpenError): { ok: false, error: OpenError } => ({ ok: false, error })
  const decoded = decodeCanonical(bytes, MAX_ENVELOPE_BYTES)
  if (!decoded.ok) return fail(decoded.error)
  const m = decoded.value
  if (!isPlainObject(m)) return fail(new InvalidEnvelopeError('envelope is not a map'))
  const keys = Object.keys(m).sort()
  if (keys.length !== ENVELOPE_KEYS.length || keys.some((k, i) => k !== ENVELOPE_KEYS[i])) {
    return fail(new InvalidEnvelopeError(`envelope fields must be exactly ${ENVELOPE_KEYS.join(', ')}`))
  }
  if (m.v !== ENVELOPE_VERSION) return fail(new UnknownVersionError(`envelope version ${String(m.v).slice(0, 20)} is not ${ENVELOPE_VERSION}`))
  const kind = m.kind
  if (!isKind(kind)) return fail(new InvalidEnvelopeError('unknown kind'))
  if (options.kinds !== undefined && !(options.kinds as readonly string[]).includes(kind)) {
    return fail(new UnexpectedKindError(`a ${kind} envelope where ${options.kinds.join(' or ')} was expected`))
  }
  if (bytes.length > BYTE_CAPS[kind]) return fail(new OversizedError(`${kind} envelope of ${bytes.length} bytes exceeds the cap of ${BYTE_CAPS[kind]}`))
  const { signer, seq, ts, sig, body } = m
  if (!(signer instanceof Uint8Array) || signer.length !== PUBLIC_KEY_BYTES) return fail(new InvalidEnvelopeError(`signer must be ${PUBLIC_KEY_BYTES} bytes`))
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES) return fail(new InvalidEnvelopeError(`sig must be ${SIGNATURE_BYTES} bytes`))
  if (!isTime(seq)) return fail(new InvalidEnvelopeError('seq must be a non-negative safe integer'))
  if (!isTime(ts)) return fail(new InvalidEnvelopeError('ts must be a non-negative safe integer'))
  const bad = checkBody(kind, body)
  if (bad !== undefined) return fail(new SchemaError(bad))
  const now = options.now ?? Date.now()
  if (options.maxAgeMs !== undefined && ts < now - options.maxAgeMs) return fail(new StaleMessageError(`signed ${now - ts} ms ago, limit ${options.maxAgeMs} ms`))
  if (options.maxFutureMs !== undefined && ts > now + options.maxFutureMs) return fail(new FutureMessageError(`dated ${ts - now} ms ahead, limit ${options.maxFutureMs} ms`))
  const unsigned = withoutSig(bytes)
  // Unreachable for bytes that passed the checks above: they are canonical, with exactly these fields.
  if (unsigned === undefined) return fail(new InvalidEnvelopeError('envelope fields are not in canonical order'))
  return { ok: true, kind: kind as K, signer, seq, ts, body: body as BodyOf<K>, sig, unsigned, signed: signingBytes(kind, unsigned) }
}


/** Content id of any value: SHA-256 of its canonical CBOR. @throws {Error} on values CBOR cannot carry. */
export function contentId (value: unknown): Uint8Array {
  return sha256(encodeCanonical(value))
}
