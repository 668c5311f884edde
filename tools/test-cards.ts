/**
 * The public test card numbers (the sandbox PSP's table in the README, after
 * Stripe's documented test cards; the fake Stripe and Adyen map them alike).
 * The one place outside the sandbox table they are written down: the tests,
 * the QA runner and the benchmark key them from here at run time.
 */
export const TEST_CARDS = {
  visa: '4242424242424242',
  mastercard: '5555555555554444',
  amex: '378282246310005',
  /** A brand the default ACCEPTED_BRANDS refuse. */
  discover: '6011111111111117',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  /** Charged by the sandbox, which never answers. */
  noAnswer: '4000000000000341',
  /** The Visa test number with its last digit off: fails the Luhn check. */
  badLuhn: '4242424242424241',
} as const;

/** Every test card, for the scans that look for card data where there must be none. */
export const ALL_TEST_CARDS: readonly string[] = Object.values(TEST_CARDS);
