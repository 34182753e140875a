/**
 * Ids of the records a phone makes: its visits, sign-ins and outbox mutations.
 *
 * UUIDv7 (RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random, and
 * ids minted one after another on this page sort in the order they were made. The server
 * keys its sign-ins and ledger rows by these ids: time-ordered keys land at the end of those
 * indexes instead of on a random page of each, so a pushed batch of 100 writes about a quarter
 * of the pages a random (v4) id's batch writes (docs/PERFORMANCE.md, 2026-12-07). The server
 * takes any UUID, so ids minted by an older app version stay valid.
 *
 * A device id is not a record's id: it stays a random v4 (db.js), as it names the phone for
 * good and no index is keyed by it.
 */
import { v7 } from 'uuid';

/** A new record id: a time-ordered UUID string (version 7), lower-case and hyphenated. */
export function recordId() {
  return v7();
}
