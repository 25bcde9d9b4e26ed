/**
 * Which chunks a peer holds: one bit per chunk, most significant bit first
 * (as BitTorrent's), sent in HELLO as base64 and persisted by a getter so an
 * interrupted download resumes.
 */
import { fromBase64, toBase64 } from '../bytes.js';

export class Bitfield {
  readonly bits: Uint8Array;
  private held = 0;

  constructor(
    readonly size: number,
    bits?: Uint8Array,
  ) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
    if (bits !== undefined) {
      this.bits.set(bits.subarray(0, this.bits.length));
      // Bits past `size` mean nothing: clear them, so that counts and encodings agree.
      const spare = this.bits.length * 8 - size;
      if (spare > 0)
        this.bits[this.bits.length - 1] = (this.bits[this.bits.length - 1] ?? 0) & (0xff << spare);
      for (let i = 0; i < size; i++) if (this.has(i)) this.held++;
    }
  }

  static fromBase64(size: number, text: string): Bitfield {
    return new Bitfield(size, fromBase64(text));
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (((this.bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1;
  }

  /** Set bit `i`; false if it was set already. */
  set(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false;
    this.bits[i >> 3] = (this.bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
    this.held++;
    return true;
  }

  clear(i: number): void {
    if (!this.has(i)) return;
    this.bits[i >> 3] = (this.bits[i >> 3] ?? 0) & ~(0x80 >> (i & 7));
    this.held--;
  }

  get count(): number {
    return this.held;
  }

  get complete(): boolean {
    return this.held === this.size;
  }

  toBase64(): string {
    return toBase64(this.bits);
  }
}
