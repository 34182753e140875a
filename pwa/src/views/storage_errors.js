// What a person sees when the phone refused to store something: a lasting message saying what to do.
import { isStorageFull } from '../db.js';
import { t } from '../i18n.js';
import { showLasting } from '../ui.js';

/** Tell the person a write failed (nothing was counted); storage full says to sync and free space. */
export function reportWriteFailure(error, what) {
  showLasting('storage', isStorageFull(error) ? t('storage.full', { what })
    : t('storage.write_failed', { what }));
}
