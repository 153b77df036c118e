/**
 * The safetensors format (https://github.com/huggingface/safetensors), so that weights written here
 * load in PyTorch, numpy and JAX, and theirs load here:
 *
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   UTF-8 JSON: {"__metadata__": {str: str}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 *   rest      the data buffer; offsets are relative to its start; tensors tile it exactly
 *
 * Tensor data is always little-endian. The writer pads the header with spaces so the buffer starts
 * at an 8-byte aligned offset, as the reference writer does, so readers that map the file can view
 * it without copying.
 *
 * Order: the reference writer sorts tensors by dtype alignment, then by name. We keep the caller's
 * order instead (the Map's order for both header keys and data layout, `__metadata__` first, compact
 * JSON, like the reference), because a model's parameter order is meaningful to it. `decodeSafetensors`
 * returns tensors in the header's written order (not offset order, and not JSON.parse's order, which
 * would move integer-like names such as "0" to the front), so decode -> encode is byte-identical for
 * every file we wrote. Files from other writers decode fine; re-encoding them may lay data out anew.
 */
import * as fsp from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write';

/** A safetensors dtype name, as it appears in the header. */
export type SafetensorsDtype = keyof DtypeArrays;

/**
 * The typed array that holds each dtype. F16 and BF16 are raw 16-bit patterns: Node has no
 * half-precision array, and converting would lose the bit-exact round trip.
 */
export interface DtypeArrays {
  BOOL: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  U16: Uint16Array;
  I16: Int16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  U32: Uint32Array;
  I32: Int32Array;
  F32: Float32Array;
  U64: BigUint64Array;
  I64: BigInt64Array;
  F64: Float64Array;
}

/** One tensor: its dtype, its row-major shape ([] for a scalar) and its elements. */
export type SafetensorsTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: DtypeArrays[D] };
}[SafetensorsDtype];

/** What a safetensors file holds: tensors in header order, and the string-to-string metadata ({} when absent). */
export interface DecodedSafetensors {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Why a file was rejected; `code` is for programs, the message names the file and the problem. */
export type SafetensorsErrorCode =
  | 'READ_FAILED'
  | 'TOO_SHORT'
  | 'HEADER_LENGTH'
  | 'HEADER_NOT_UTF8'
  | 'INVALID_JSON'
  | 'INVALID_HEADER'
  | 'DUPLICATE_NAME'
  | 'UNKNOWN_DTYPE'
  | 'INVALID_SHAPE'
  | 'INVALID_OFFSETS'
  | 'SHAPE_OFFSET_MISMATCH'
  | 'OVERLAPPING_OFFSETS'
  | 'GAP_IN_OFFSETS'
  | 'TRUNCATED'
  | 'TRAILING_BYTES'
  | 'INVALID_METADATA'
  | 'INVALID_TENSOR';

/** An invalid safetensors file or an unencodable tensor; the message starts with the file (or source) name. */
export class SafetensorsError extends Error {
  constructor(
    readonly source: string,
    readonly code: SafetensorsErrorCode,
    problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** The reference reader's limit; a larger length is a corrupt or foreign file, not a real header. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

interface DtypeInfo {
  bytes: number;
  kind: new (buffer: ArrayBuffer) => DtypeArrays[SafetensorsDtype];
}

const DTYPES: { [D in SafetensorsDtype]: DtypeInfo } = {
  BOOL: { bytes: 1, kind: Uint8Array },
  U8: { bytes: 1, kind: Uint8Array },
  I8: { bytes: 1, kind: Int8Array },
  U16: { bytes: 2, kind: Uint16Array },
  I16: { bytes: 2, kind: Int16Array },
  F16: { bytes: 2, kind: Uint16Array },
  BF16: { bytes: 2, kind: Uint16Array },
  U32: { bytes: 4, kind: Uint32Array },
  I32: { bytes: 4, kind: Int32Array },
  F32: { bytes: 4, kind: Float32Array },
  U64: { bytes: 8, kind: BigUint64Array },
  I64: { bytes: 8, kind: BigInt64Array },
  F64: { bytes: 8, kind: Float64Array },
};

/** True on x86 and ARM; the format is little-endian, so only other hosts need byte swaps. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of every `width`-byte element of `bytes` in place (for big-endian hosts). */
export function swapByteOrder(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** The safetensors dtype names this module reads and writes. */
export function isSafetensorsDtype(name: unknown): name is SafetensorsDtype {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

/** Encodes tensors (header keys and data in the Map's order) and optional metadata as safetensors bytes. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  return encodeFor('encodeSafetensors', tensors, metadata);
}

function encodeFor(
  source: string,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata: Record<string, string> | undefined,
): Uint8Array {
  const fail = (code: SafetensorsErrorCode, problem: string) => new SafetensorsError(source, code, problem);
  const entries: string[] = [];
  if (metadata !== undefined) {
    checkMetadata(metadata, (problem) => fail('INVALID_METADATA', problem));
    // An empty object is written as no metadata, so that {} and undefined give the same bytes.
    if (Object.keys(metadata).length > 0) entries.push(`"${METADATA_KEY}":${JSON.stringify(metadata)}`);
  }
  const views: { bytes: Uint8Array; width: number }[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name === METADATA_KEY)
      throw fail('INVALID_TENSOR', `"${METADATA_KEY}" is reserved for metadata and cannot name a tensor`);
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isSafetensorsDtype(tensor.dtype))
      throw fail(
        'UNKNOWN_DTYPE',
        `${where} has unknown dtype ${JSON.stringify(tensor.dtype)}; use one of ${Object.keys(DTYPES).join(', ')}`,
      );
    const info = DTYPES[tensor.dtype];
    if (!(tensor.data instanceof info.kind)) {
      throw fail(
        'INVALID_TENSOR',
        `${where} has dtype ${tensor.dtype}, which needs a ${info.kind.name}, ` +
          `but its data is a ${describe(tensor.data)}`,
      );
    }
    const count = elementCount(tensor.shape, (problem) => fail('INVALID_SHAPE', `${where}: ${problem}`));
    if (count !== tensor.data.length) {
      throw fail(
        'SHAPE_OFFSET_MISMATCH',
        `${where} has shape [${tensor.shape.join(', ')}] (${count} elements) but ${tensor.data.length} data elements`,
      );
    }
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    entries.push(
      `${JSON.stringify(name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],` +
        `"data_offsets":[${offset},${offset + bytes.length}]}`,
    );
    views.push({ bytes, width: info.bytes });
    offset += bytes.length;
  }
  const header = new TextEncoder().encode(`{${entries.join(',')}}`);
  const padding = (8 - (header.length % 8)) % 8;
  const dataStart = 8 + header.length + padding;
  const out = new Uint8Array(dataStart + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length + padding), true);
  out.set(header, 8);
  out.fill(0x20, 8 + header.length, dataStart);
  let at = dataStart;
  for (const { bytes, width } of views) {
    out.set(bytes, at);
    if (!HOST_IS_LITTLE_ENDIAN) swapByteOrder(out.subarray(at, at + bytes.length), width);
    at += bytes.length;
  }
  return out;
}

/** Decodes and strictly validates safetensors bytes; `source` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source = '<safetensors bytes>'): DecodedSafetensors {
  const fail = (code: SafetensorsErrorCode, problem: string) => new SafetensorsError(source, code, problem);
  if (bytes.length < 8)
    throw fail(
      'TOO_SHORT',
      `${bytes.length} bytes is too short to hold the 8-byte header length; truncated or not a safetensors file`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw fail(
      'HEADER_LENGTH',
      `header length ${declared} runs past the end of the file (${bytes.length} bytes); ` +
        `truncated or not a safetensors file`,
    );
  }
  if (declared > BigInt(MAX_HEADER_BYTES))
    throw fail(
      'HEADER_LENGTH',
      `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit of safetensors readers`,
    );
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so it is rejected below rather than skipped.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    throw fail('HEADER_NOT_UTF8', `the ${headerLength}-byte header is not valid UTF-8`);
  }
  if (!text.startsWith('{'))
    throw fail(
      'INVALID_HEADER',
      `the header must be a JSON object starting with "{", found ${JSON.stringify(text.slice(0, 20))}`,
    );
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail('INVALID_JSON', `the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw fail('INVALID_HEADER', 'the header must be a JSON object');
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw fail('DUPLICATE_NAME', `the header names ${JSON.stringify(key)} twice`);
    seen.add(key);
  }

  let metadata: Record<string, string> = {};
  const rawMetadata = header[METADATA_KEY];
  // The reference reads `"__metadata__": null` as no metadata.
  if (rawMetadata !== undefined && rawMetadata !== null) {
    if (!isPlainObject(rawMetadata)) throw fail('INVALID_METADATA', `"${METADATA_KEY}" must be an object of strings`);
    checkMetadata(rawMetadata, (problem) => fail('INVALID_METADATA', problem));
    metadata = rawMetadata as Record<string, string>;
  }

  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const name of keys) {
    if (name === METADATA_KEY) continue;
    const where = `tensor ${JSON.stringify(name)}`;
    const info = header[name];
    if (!isPlainObject(info))
      throw fail('INVALID_HEADER', `${where} must be an object with dtype, shape and data_offsets`);
    const extra = Object.keys(info).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length > 0)
      throw fail('INVALID_HEADER', `${where} has unexpected fields ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (!isSafetensorsDtype(dtype)) {
      throw fail(
        'UNKNOWN_DTYPE',
        `${where} has unknown dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(DTYPES).join(', ')}`,
      );
    }
    const count = elementCount(shape, (problem) => fail('INVALID_SHAPE', `${where}: ${problem}`));
    const dims = shape as number[];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
      throw fail('INVALID_OFFSETS', `${where}: data_offsets must be [begin, end], two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw fail('INVALID_OFFSETS', `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const expected = count * DTYPES[dtype].bytes;
    if (end - begin !== expected) {
      throw fail(
        'SHAPE_OFFSET_MISMATCH',
        `${where}: shape [${dims.join(', ')}] of ${dtype} needs ${expected} bytes ` +
          `but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape: dims, begin, end });
  }

  // The reference reader demands that tensors tile the buffer exactly, in whatever header order.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const e of byOffset) {
    const where = `tensor ${JSON.stringify(e.name)}`;
    if (e.begin < covered)
      throw fail(
        'OVERLAPPING_OFFSETS',
        `${where} [${e.begin}, ${e.end}] overlaps tensor ${JSON.stringify(previous)}, which ends at ${covered}`,
      );
    if (e.begin > covered)
      throw fail('GAP_IN_OFFSETS', `data bytes [${covered}, ${e.begin}) before ${where} belong to no tensor`);
    covered = e.end;
    previous = e.name;
  }
  if (covered > dataLength) {
    throw fail(
      'TRUNCATED',
      `tensor ${JSON.stringify(previous)} ends at data byte ${covered} but the file holds only ${dataLength} ` +
        `data bytes; the file is truncated`,
    );
  }
  if (covered < dataLength)
    throw fail(
      'TRAILING_BYTES',
      `${dataLength - covered} trailing bytes after the last tensor (data ends at ${covered} of ${dataLength})`,
    );

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    // Copy into a fresh ArrayBuffer: typed arrays need element-aligned offsets, and the decoded
    // tensors should not keep the whole file alive. (Not bytes.slice(): on a Buffer that is a view.)
    const copy = new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    const { bytes: width, kind } = DTYPES[e.dtype];
    if (!HOST_IS_LITTLE_ENDIAN) swapByteOrder(copy, width);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: new kind(copy.buffer) } as SafetensorsTensor);
  }
  return { tensors, metadata };
}

/** Writes tensors and metadata to a safetensors file atomically (temp file, fsync, rename, fsync directory). */
export async function writeSafetensorsFile(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(file, encodeFor(file, tensors, metadata));
}

/** Reads and strictly validates a safetensors file; errors name the file. */
export async function readSafetensorsFile(file: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new SafetensorsError(file, 'READ_FAILED', `cannot read (${(e as Error).message})`);
  }
  return decodeSafetensors(bytes, file);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isSize(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function checkMetadata(metadata: Record<string, unknown>, fail: (problem: string) => Error): void {
  if (!isPlainObject(metadata)) throw fail('metadata must be an object of strings');
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw fail(
        `metadata ${JSON.stringify(key)} is ${describe(value)}, but safetensors metadata values must be strings`,
      );
  }
}

/** Number of elements of a shape ([] is a scalar: 1), rejecting sizes a buffer could not hold. */
function elementCount(shape: unknown, fail: (problem: string) => Error): number {
  if (!Array.isArray(shape)) throw fail('shape must be an array of non-negative integers');
  let count = 1;
  for (const d of shape) {
    if (!isSize(d)) throw fail(`shape [${shape.join(', ')}] must hold non-negative integers`);
    count *= d;
  }
  if (!Number.isSafeInteger(count)) throw fail(`shape [${shape.join(', ')}] has more elements than can be addressed`);
  return count;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return `${typeof x} ${JSON.stringify(x)}`;
}

/**
 * Keys of a JSON object in written order. JSON.parse reorders integer-like keys ("0", "12") ahead
 * of the rest and silently keeps the last of duplicate keys; scanning the text avoids both. Only
 * called on text JSON.parse accepted as an object, so the scanner can trust the syntax.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
    i++;
  }
  return keys;
}
