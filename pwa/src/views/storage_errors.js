// What a person sees when the phone refused to store something: a lasting message saying what to do.
import { isStorageFull } from '../db.js';
import { t } from '../i18n.js';
import { clearLasting, showLasting } from '../ui.js';

/**
 * Tell the person a write failed (nothing was counted); storage full says to sync and free space.
 * `kind` ('photo', 'draft', 'record') names the message: only a later write of the same kind
 * that succeeds takes it away (or the person closing it).
 */
export function reportWriteFailure(error, what, kind) {
  showLasting(`storage-${kind}`, isStorageFull(error) ? t('storage.full', { what })
    : t('storage.write_failed', { what }));
}

/** A write of this kind succeeded: its failure message, if shown, is no longer true. */
export function writeSucceeded(kind) {
  clearLasting(`storage-${kind}`);
}
