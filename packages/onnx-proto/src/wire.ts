/**
 * Minimal protobuf wire-format reading and writing: enough to walk an ONNX ModelProto without
 * decoding its weights, and to append nodes, outputs and small initializers to a graph.
 */

/** Protobuf wire types. */
export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Length = 2,
  Fixed32 = 5,
}

/** One field occurrence inside a message. */
export interface WireField {
  readonly field: number;
  readonly wire: WireType;
  /** Offset of the field's tag. */
  readonly tagStart: number;
  /** Payload bounds (for Length fields, the bytes of the payload; else the raw value bytes). */
  readonly start: number;
  readonly end: number;
  /** Value of a varint field (exact up to 2^53). */
  readonly value: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos++];
    if (b === undefined) throw new RangeError('protobuf: truncated varint');
    result += (b & 0x7f) * scale;
    if (b < 0x80) return [result, pos];
    scale *= 128;
  }
  throw new RangeError('protobuf: varint too long');
}

/** Iterate the fields of the message held in `buf[start, end)`. */
export function* readFields(buf: Uint8Array, start = 0, end = buf.length): Generator<WireField> {
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wire = (tag & 7) as WireType;
    switch (wire) {
      case WireType.Varint: {
        const [value, next] = readVarint(buf, pos);
        yield { field, wire, tagStart, start: pos, end: next, value };
        pos = next;
        break;
      }
      case WireType.Fixed64:
        yield { field, wire, tagStart, start: pos, end: pos + 8, value: 0 };
        pos += 8;
        break;
      case WireType.Fixed32:
        yield { field, wire, tagStart, start: pos, end: pos + 4, value: 0 };
        pos += 4;
        break;
      case WireType.Length: {
        const [length, next] = readVarint(buf, pos);
        if (next + length > end) throw new RangeError('protobuf: field runs past the end of its message');
        yield { field, wire, tagStart, start: next, end: next + length, value: length };
        pos = next + length;
        break;
      }
      default:
        throw new RangeError(`protobuf: unsupported wire type ${wire as number} at byte ${tagStart}`);
    }
  }
}

const decoder = new TextDecoder();

/** UTF-8 text of a Length field. */
export function fieldString(buf: Uint8Array, f: WireField): string {
  return decoder.decode(buf.subarray(f.start, f.end));
}

/** Signed value of a varint field holding an int64 (two's complement, 10 bytes when negative). */
export function fieldInt64(buf: Uint8Array, f: WireField): number {
  let big = 0n;
  let shift = 0n;
  for (let p = f.start; p < f.end; p++) {
    big |= BigInt(buf[p]! & 0x7f) << shift;
    shift += 7n;
  }
  return Number(BigInt.asIntN(64, big));
}

/** Grows a byte buffer while protobuf fields are written to it. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private current = new Uint8Array(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.current.length) return;
    this.chunks.push(this.current.subarray(0, this.pos));
    this.current = new Uint8Array(Math.max(256, n * 2));
    this.pos = 0;
  }

  /** Raw varint (non-negative, or negative int64 as 10-byte two's complement). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.current[this.pos++] = b;
    } while (v > 0n);
    return this;
  }

  private tag(field: number, wire: WireType): this {
    return this.varint(field * 8 + wire);
  }

  /** A varint field. */
  int(field: number, value: number | bigint): this {
    return this.tag(field, WireType.Varint).varint(value);
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    this.ensure(4);
    new DataView(this.current.buffer, this.current.byteOffset + this.pos, 4).setFloat32(0, value, true);
    this.pos += 4;
    return this;
  }

  /** A Length field with raw bytes. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.Length).varint(value.length);
    this.raw(value);
    return this;
  }

  /** A string field. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message field built by `build`. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /**
   * Bytes appended as they are (already encoded fields). Large ones (64 KiB and more) are kept by
   * reference until `finish()`, so a tensor's data is copied once, not twice; do not change them.
   */
  raw(value: Uint8Array): this {
    if (value.length >= 1 << 16) {
      this.chunks.push(this.current.subarray(0, this.pos), value);
      this.current = new Uint8Array(256);
      this.pos = 0;
      return this;
    }
    this.ensure(value.length);
    this.current.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** The encoded bytes. */
  finish(): Uint8Array {
    const parts = [...this.chunks, this.current.subarray(0, this.pos)];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

/** Encoded varint length prefix + tag for a Length field of `length` bytes. */
export function lengthFieldHeader(field: number, length: number): Uint8Array {
  return new ProtoWriter().varint(field * 8 + WireType.Length).varint(length).finish();
}
