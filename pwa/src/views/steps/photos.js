// Step 4: photos, downscaled and hashed at capture, kept in IndexedDB with the draft. The count
// changes only once a photo's bytes and the draft are both on disk.
import { processPhoto } from '../../capture/photo.js';
import { addDraftPhoto, getMedia, removeDraftPhoto } from '../../db.js';
import { t } from '../../i18n.js';
import { h, hideToast, toast } from '../../ui.js';
import { reportWriteFailure, writeSucceeded } from '../storage_errors.js';

/** Render the photos step; `thumbs` caches object URLs across re-renders. */
export function renderPhotos({ draft, rerender, thumbs }) {
  const input = h('input', { id: 'photo-input', type: 'file', accept: 'image/*', capture: 'environment',
    multiple: true, class: 'file', 'data-testid': 'photo-input',
    onchange: async (event) => {
      const files = [...event.target.files];
      event.target.value = '';
      for (const file of files) {
        toast(t('photos.processing'));
        let photo;
        try {
          photo = await processPhoto(file);
        } catch {
          toast(t('photos.unreadable'));
          continue;
        }
        try {
          if (!draft.photos.some((p) => p.sha256 === photo.sha256)) await addDraftPhoto(draft, photo);
          hideToast();
          writeSucceeded('photo');
        } catch (error) {
          hideToast();
          reportWriteFailure(error, t('what.photo'), 'photo');
        }
      }
      rerender();
    } });
  const grid = h('ul', { class: 'thumbs' });
  for (const photo of draft.photos) {
    const img = h('img', { alt: t('photos.alt'), width: '96', height: '96' });
    const url = thumbs.get(photo.sha256);
    if (url) img.src = url;
    else {
      getMedia(photo.sha256).then((m) => {
        if (!m?.bytes) {
          img.closest('li')?.classList.add('missing');
          img.closest('li')?.setAttribute('data-missing', 'true');
          return;
        }
        const made = URL.createObjectURL(new Blob([m.bytes], { type: m.mime }));
        thumbs.set(photo.sha256, made);
        img.src = made;
      });
    }
    grid.append(h('li', { 'data-sha256': photo.sha256 }, img, h('button', { type: 'button', class: 'small',
      'aria-label': t('photos.remove'),
      onclick: async () => {
        try {
          await removeDraftPhoto(draft, photo.sha256);
        } catch (error) {
          reportWriteFailure(error, t('what.photo'), 'photo');
        }
        rerender();
      } }, t('photos.remove'))));
  }
  return [
    h('label', { for: 'photo-input', class: 'button primary big' }, t('photos.take')),
    input,
    h('p', { class: 'muted', 'data-testid': 'photo-count' }, t('photos.count', { n: draft.photos.length })),
    grid,
  ];
}
