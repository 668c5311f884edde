/*
 * Imported first by main.ts, before anything can touch libuv's thread pool
 * (it is sized once, at first use). Every asynchronous file operation runs
 * there: recording chunks, sidecars, the sandbox ledger, log writes. The
 * default four threads queued a recording's file creation behind hundreds of
 * calls' writes and the slow renames of a busy journal, for seconds; sixteen
 * keep that to tens of milliseconds. An operator's own setting wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
