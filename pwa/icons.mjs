// Draw the app icons as PNG at build time: a teal square with a white check mark.
import { crc32, deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Write a size×size RGBA PNG; maskable icons keep the mark inside the 80 % safe zone. */
export function writeIcon(path, size, maskable) {
  const scale = maskable ? 0.7 : 0.9;
  const s = (v) => size / 2 + (v - 0.5) * size * scale;
  const [ax, ay, bx, by, cx, cy] = [s(0.22), s(0.52), s(0.42), s(0.72), s(0.8), s(0.3)];
  const stroke = size * 0.075 * scale;
  const radius = maskable ? 0 : size * 0.18;
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const px = x + 0.5, py = y + 0.5;
      // Rounded corners: outside the corner circles is transparent.
      const qx = Math.max(radius - px, px - (size - radius), 0);
      const qy = Math.max(radius - py, py - (size - radius), 0);
      const inside = radius === 0 || Math.hypot(qx, qy) <= radius;
      const mark = Math.min(segmentDistance(px, py, ax, ay, bx, by),
        segmentDistance(px, py, bx, by, cx, cy)) <= stroke;
      const rgba = !inside ? [0, 0, 0, 0] : mark ? [255, 255, 255, 255] : [15, 118, 110, 255];
      row.set(rgba, 1 + x * 4);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  writeFileSync(path, png);
}
