// The photo's own capture time: EXIF DateTimeOriginal, read from the original file before the
// app re-encodes it (re-encoding drops every metadata block). The server judges with it: a photo
// taken outside the visit cannot verify the visit.

/**
 * Return the EXIF DateTimeOriginal of a JPEG as an ISO UTC string, or null.
 *
 * The time is read in the zone OffsetTimeOriginal gives ("+08:00"), else in the device's zone.
 * Big- and little-endian TIFF headers are read; a file without EXIF, a damaged or hostile EXIF
 * block, or an impossible date ("2026:13:45", outside 2000–2099) gives null, never an exception.
 * tests/e2e/test_exif.py runs it in Chromium on JPEGs made with Pillow.
 */
export async function exifTakenAt(file) {
  try {
    const view = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
    if (view.getUint16(0) !== 0xffd8) return null;
    let offset = 2;
    while (offset + 4 <= view.byteLength) {
      const marker = view.getUint16(offset);
      const length = view.getUint16(offset + 2);
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) return readTiff(view, offset + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda || length < 2) return null;
      offset += 2 + length;
    }
  } catch {
    return null; // a file we cannot read has no capture time we can trust
  }
  return null;
}

function readTiff(view, start) {
  const order = view.getUint16(start);
  if (order !== 0x4949 && order !== 0x4d4d) return null;
  const little = order === 0x4949;
  const u16 = (at) => view.getUint16(start + at, little);
  const u32 = (at) => view.getUint32(start + at, little);
  if (u16(2) !== 42) return null;
  const find = (ifd, tag) => {
    const count = u16(ifd);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (u16(entry) === tag) return entry;
    }
    return null;
  };
  // An ASCII value of an entry: inline when it fits in 4 bytes, else at its offset.
  const ascii = (entry, max) => {
    if (entry === null || u16(entry + 2) !== 2) return null;
    const count = Math.min(u32(entry + 4), max);
    const at = count <= 4 ? entry + 8 : u32(entry + 8);
    let text = '';
    for (let i = 0; i < count; i++) {
      const code = view.getUint8(start + at + i);
      if (code === 0) break;
      text += String.fromCharCode(code);
    }
    return text;
  };
  const pointer = find(u32(4), 0x8769); // the Exif sub-IFD
  if (pointer === null) return null;
  const exif = u32(pointer + 8);
  const text = ascii(find(exif, 0x9003), 20); // DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
  const m = text && /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  if (year < 2000 || year > 2099 || month < 1 || month > 12 || day < 1 || hour > 23
      || minute > 59 || second > 59) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(wall).getUTCDate() !== day) return null; // 2026:02:30 is no day
  const zone = /^([+-])(\d{2}):(\d{2})$/.exec(ascii(find(exif, 0x9011), 7) || ''); // OffsetTimeOriginal
  if (zone && +zone[2] <= 14 && +zone[3] <= 59) {
    const minutes = (zone[1] === '-' ? -1 : 1) * (+zone[2] * 60 + +zone[3]);
    return new Date(wall - minutes * 60000).toISOString();
  }
  return new Date(year, month - 1, day, hour, minute, second).toISOString();
}
