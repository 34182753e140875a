// The photo's own capture time: EXIF DateTimeOriginal, read from the original file before the
// app re-encodes it (re-encoding drops every metadata block). The server judges with it: a photo
// taken outside the visit cannot verify the visit.

/** Return the EXIF DateTimeOriginal of a JPEG as an ISO UTC string (device zone), or null. */
export async function exifTakenAt(file) {
  try {
    const view = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
    if (view.getUint16(0) !== 0xffd8) return null;
    let offset = 2;
    while (offset + 4 <= view.byteLength) {
      const marker = view.getUint16(offset);
      const length = view.getUint16(offset + 2);
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) return readTiff(view, offset + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
      offset += 2 + length;
    }
  } catch {
    return null; // a file we cannot read has no capture time we can trust
  }
  return null;
}

function readTiff(view, start) {
  const little = view.getUint16(start) === 0x4949;
  const u16 = (at) => view.getUint16(start + at, little);
  const u32 = (at) => view.getUint32(start + at, little);
  const find = (ifd, tag) => {
    const count = u16(ifd);
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (u16(entry) === tag) return entry;
    }
    return null;
  };
  const pointer = find(u32(4), 0x8769); // the Exif sub-IFD
  if (pointer === null) return null;
  const entry = find(u32(pointer + 8), 0x9003); // DateTimeOriginal, "YYYY:MM:DD HH:MM:SS"
  if (entry === null) return null;
  const at = u32(entry + 8);
  let text = '';
  for (let i = 0; i < 19; i++) text += String.fromCharCode(view.getUint8(start + at + i));
  const m = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return null;
  const taken = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const year = taken.getFullYear();
  return Number.isNaN(taken.getTime()) || year < 2000 || year > 2099 ? null : taken.toISOString();
}
