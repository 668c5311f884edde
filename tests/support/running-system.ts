/** The tests start the system with the same helper as the benchmark: one way of doing it. */
export * from '../../scripts/qa/system-process.js';
