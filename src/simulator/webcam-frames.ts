// Test-card JPEG frames for the simulated webcam: coloured corner markers
// (red top-left, green top-right, blue bottom-left, yellow bottom-right) so a
// client can verify flips/rotations, plus the frame number and time of day.
// The picture is never transformed: flip/rotation are hints in the webcam entry.
import jpeg from 'jpeg-js';

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;
export const MARKER_W = 96;
export const MARKER_H = 72;

type RGB = readonly [number, number, number];
export const MARKER_COLORS = {
  topLeft: [255, 0, 0] as RGB,
  topRight: [0, 200, 0] as RGB,
  bottomLeft: [0, 0, 255] as RGB,
  bottomRight: [255, 220, 0] as RGB,
};

/** 5x7 bitmap glyphs for the characters the card uses. */
const GLYPHS: Record<string, string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11110', '00001', '00001', '01110', '00001', '00001', '11110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  ':': ['00000', '01100', '01100', '00000', '01100', '01100', '00000'],
  '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  E: ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  M: ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
};

class Canvas {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = Buffer.alloc(width * height * 4);
  }

  rect(x0: number, y0: number, w: number, h: number, [r, g, b]: RGB): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) {
        const i = (y * this.width + x) * 4;
        this.data[i] = r;
        this.data[i + 1] = g;
        this.data[i + 2] = b;
        this.data[i + 3] = 255;
      }
    }
  }

  text(s: string, x: number, y: number, scale: number, color: RGB): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const glyph = GLYPHS[ch] ?? GLYPHS[' '];
      glyph?.forEach((row, gy) => {
        for (let gx = 0; gx < row.length; gx++) if (row[gx] === '1') this.rect(cx + gx * scale, y + gy * scale, scale, scale, color);
      });
      cx += 6 * scale;
    }
  }
}

function clockText(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Renders one test-card frame as JPEG. */
export function renderFrame(frameNumber: number, when: Date, quality = 80): Buffer {
  const c = new Canvas(FRAME_WIDTH, FRAME_HEIGHT);
  for (let y = 0; y < FRAME_HEIGHT; y++) {
    const shade = Math.round(40 + (y / FRAME_HEIGHT) * 60);
    c.rect(0, y, FRAME_WIDTH, 1, [shade, shade + 20, shade + 50]);
  }
  for (let x = 0; x < FRAME_WIDTH; x += 64) c.rect(x, 0, 1, FRAME_HEIGHT, [90, 110, 140]);
  for (let y = 0; y < FRAME_HEIGHT; y += 64) c.rect(0, y, FRAME_WIDTH, 1, [90, 110, 140]);
  // A bar sweeping with the frame number makes consecutive stream frames differ visibly.
  c.rect(((frameNumber * 8) % (FRAME_WIDTH - 16)) + 8, FRAME_HEIGHT - 120, 8, 40, [230, 230, 230]);
  c.rect(0, 0, MARKER_W, MARKER_H, MARKER_COLORS.topLeft);
  c.rect(FRAME_WIDTH - MARKER_W, 0, MARKER_W, MARKER_H, MARKER_COLORS.topRight);
  c.rect(0, FRAME_HEIGHT - MARKER_H, MARKER_W, MARKER_H, MARKER_COLORS.bottomLeft);
  c.rect(FRAME_WIDTH - MARKER_W, FRAME_HEIGHT - MARKER_H, MARKER_W, MARKER_H, MARKER_COLORS.bottomRight);
  c.text('TOP LEFT', MARKER_W + 12, 12, 3, [255, 255, 255]);
  c.text(`FRAME ${String(frameNumber).padStart(6, '0')}`, 104, 180, 6, [255, 255, 255]);
  c.text(clockText(when), 104, 260, 6, [255, 255, 255]);
  return jpeg.encode({ data: c.data, width: FRAME_WIDTH, height: FRAME_HEIGHT }, quality).data;
}
