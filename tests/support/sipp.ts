/** The tests drive SIPp with the QA kit's own process helpers: one way of doing it. */
export * from '../../scripts/qa/sipp-process.js';
