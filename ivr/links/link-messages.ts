import { PROMPT_LANGUAGES, type PromptLanguage } from '../prompts/prompt-texts.js';

/**
 * The text messages, in the session's language. The link (or the payment's
 * short reference) is the only variable part: nothing a caller or agent typed
 * is ever sent on.
 */
const TEXTS: Readonly<Record<PromptLanguage, { link: string; receipt: string; inDoubt: string }>> = {
  'fr-FR': {
    link: 'Votre lien de paiement sécurisé : {}',
    receipt: 'Paiement accepté. Votre référence : {}',
    inDoubt: 'Votre paiement est en cours de confirmation par la banque. Votre référence : {}',
  },
  'en-GB': {
    link: 'Your secure payment link: {}',
    receipt: 'Payment approved. Your reference: {}',
    inDoubt: 'Your payment is being confirmed by the bank. Your reference: {}',
  },
};

export type LinkMessageKind = keyof (typeof TEXTS)['en-GB'];

/** The message of `kind` in `language` (the default one when the session has none we speak), with `value` in its place. */
export function linkMessage(kind: LinkMessageKind, language: string | null | undefined, fallback: PromptLanguage, value: string): string {
  const lang = PROMPT_LANGUAGES.includes(language as PromptLanguage) ? (language as PromptLanguage) : fallback;
  return TEXTS[lang][kind].replace('{}', value);
}
