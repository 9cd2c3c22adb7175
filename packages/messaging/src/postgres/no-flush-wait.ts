// A one-row FROM item that makes the statement's transaction commit without waiting for its WAL
// flush (set_config(…, true) lasts until the commit): for writes that may be lost in a crash of the
// server because something else makes up for them (see each use for what does).
export const NO_FLUSH_WAIT = `(SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait`;
