import type { PromptId } from '../flow/flow-types.js';

/** Languages the prompts are recorded in. */
export type PromptLanguage = 'fr-FR' | 'en-GB';
export const PROMPT_LANGUAGES: readonly PromptLanguage[] = ['fr-FR', 'en-GB'];

/**
 * The text of every prompt. `scripts/generate-prompts.ts` turns it into the
 * 8 kHz WAV files under ivr/prompts/audio/<language>/; change a text here and
 * run `npm run prompts` to record it again. Short on purpose: the whole happy
 * path of a direct-pay call must fit in under a minute.
 */
export const PROMPT_TEXTS: Readonly<Record<PromptLanguage, Readonly<Record<PromptId, string>>>> = {
  'fr-FR': {
    welcome: 'Bienvenue sur le paiement sécurisé.',
    'enter-reference': 'Tapez votre numéro de commande, puis dièse.',
    'unknown-reference': 'Ce numéro de commande est inconnu.',
    'reference-timeout': "Nous n'avons rien reçu.",
    'order-service-unavailable': 'Le service est momentanément indisponible. Merci de rappeler plus tard.',
    'order-already-paid': 'Cette commande est déjà réglée.',
    'amount-is': 'Montant à régler :',
    'confirm-amount': 'Tapez 1 pour confirmer, 2 pour changer de commande.',
    'agent-capture-intro': "Saisissez votre carte sur le clavier. Votre conseiller n'entendra pas les touches.",
    'enter-card-number': 'Tapez votre numéro de carte.',
    'enter-expiry': "Date d'expiration : le mois, puis l'année.",
    'enter-security-code': 'Les trois chiffres au dos de la carte.',
    'enter-security-code-amex': 'Les quatre chiffres au recto de la carte.',
    'field-restarted': 'On recommence.',
    'error-invalid-card-number': 'Numéro de carte invalide.',
    'error-invalid-card-type': "Ce type de carte n'est pas accepté.",
    'error-invalid-date': "Date d'expiration invalide.",
    'error-invalid-security-code': 'Code de sécurité invalide.',
    'error-input-timeout': "Nous n'avons rien reçu.",
    'error-input-matching-failed': 'Reprenons la saisie de la carte.',
    'confirm-card-ending': 'Carte se terminant par',
    'confirm-card-keys': 'Tapez 1 pour confirmer, 2 pour la saisir à nouveau.',
    'please-wait': 'Paiement en cours, un instant.',
    'payment-approved': 'Paiement accepté.',
    'your-payment-reference-is': 'Votre référence :',
    'payment-declined': 'Paiement refusé par votre banque.',
    'payment-declined-insufficient-funds': 'Paiement refusé : provision insuffisante.',
    'payment-error': "Le paiement n'a pas pu aboutir.",
    'payment-in-doubt': "La réponse de la banque n'est pas encore arrivée. Vous recevrez une confirmation.",
    'too-many-attempts': "Trop d'essais.",
    'payment-cancelled': 'Paiement annulé.',
    goodbye: 'Au revoir.',
    'unknown-session': "Ce paiement est introuvable ou a expiré. Merci de contacter votre conseiller.",
  },
  'en-GB': {
    welcome: 'Welcome to secure payments.',
    'enter-reference': 'Enter your order number, then hash.',
    'unknown-reference': 'That order number is unknown.',
    'reference-timeout': 'We did not receive anything.',
    'order-service-unavailable': 'The service is unavailable right now. Please call again later.',
    'order-already-paid': 'This order is already paid.',
    'amount-is': 'Amount to pay:',
    'confirm-amount': 'Press 1 to confirm, 2 to change the order.',
    'agent-capture-intro': 'Key your card on the keypad. Your adviser will not hear the keys.',
    'enter-card-number': 'Enter your card number.',
    'enter-expiry': 'Expiry date: month, then year.',
    'enter-security-code': 'The three digits on the back of the card.',
    'enter-security-code-amex': 'The four digits on the front of the card.',
    'field-restarted': 'Starting again.',
    'error-invalid-card-number': 'Invalid card number.',
    'error-invalid-card-type': 'That card type is not accepted.',
    'error-invalid-date': 'Invalid expiry date.',
    'error-invalid-security-code': 'Invalid security code.',
    'error-input-timeout': 'We did not receive anything.',
    'error-input-matching-failed': "Let's enter the card again.",
    'confirm-card-ending': 'Card ending',
    'confirm-card-keys': 'Press 1 to confirm, 2 to enter it again.',
    'please-wait': 'Processing your payment, one moment.',
    'payment-approved': 'Payment approved.',
    'your-payment-reference-is': 'Your reference:',
    'payment-declined': 'Payment declined by your bank.',
    'payment-declined-insufficient-funds': 'Payment declined: insufficient funds.',
    'payment-error': 'The payment could not be completed.',
    'payment-in-doubt': 'The bank has not answered yet. You will receive a confirmation.',
    'too-many-attempts': 'Too many attempts.',
    'payment-cancelled': 'Payment cancelled.',
    goodbye: 'Goodbye.',
    'unknown-session': 'This payment cannot be found or has expired. Please contact your adviser.',
  },
};
