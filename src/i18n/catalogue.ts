/**
 * Every user-facing string, in English, French and Romanian. Flows and commands never hard-code a
 * sentence; they ask for a key. Placeholders are {name}; each language must use the same ones.
 */
export type Locale = 'en' | 'fr' | 'ro';
export const locales: readonly Locale[] = ['en', 'fr', 'ro'];

const en = {
  'chat.unknownCommand': 'Herald has no command /{command}. Type /herald help to see what you can run.',
  'chat.permissionDenied': 'You need {requirement} to run /{command}.',
  'chat.requirement.admin': 'to be a workspace admin',
  'chat.requirement.group': 'to be in {group}',
  'chat.invalidOptions': '/{command} did not run: {problems}',
  'chat.unknownOption': 'unknown option "{option}"',
  'chat.staleAction': 'This button is no longer active. The card may be out of date; use the latest one.',
  'chat.internalError': 'Something went wrong on Herald’s side. It has been logged (reference {reference}); please try again.',
  'chat.formProblems': 'The form was not saved: {problems}',
  'help.title': 'Herald commands you can run',
  'help.empty': 'There is no command you may run here.',
  'ping.pong': 'Pong! Herald is running on {platform}.',
} as const;

export type MessageKey = keyof typeof en;

const fr: Record<MessageKey, string> = {
  'chat.unknownCommand': 'Herald n’a pas de commande /{command}. Tapez /herald help pour voir ce que vous pouvez lancer.',
  'chat.permissionDenied': 'Vous devez {requirement} pour lancer /{command}.',
  'chat.requirement.admin': 'être administrateur de l’espace de travail',
  'chat.requirement.group': 'faire partie de {group}',
  'chat.invalidOptions': '/{command} n’a pas été lancée : {problems}',
  'chat.unknownOption': 'option inconnue « {option} »',
  'chat.staleAction': 'Ce bouton n’est plus actif. La carte n’est peut-être plus à jour ; utilisez la plus récente.',
  'chat.internalError': 'Un problème est survenu du côté de Herald. Il a été journalisé (référence {reference}) ; veuillez réessayer.',
  'chat.formProblems': 'Le formulaire n’a pas été enregistré : {problems}',
  'help.title': 'Les commandes Herald que vous pouvez lancer',
  'help.empty': 'Vous ne pouvez lancer aucune commande ici.',
  'ping.pong': 'Pong ! Herald fonctionne sur {platform}.',
};

const ro: Record<MessageKey, string> = {
  'chat.unknownCommand': 'Herald nu are comanda /{command}. Scrieți /herald help ca să vedeți ce puteți rula.',
  'chat.permissionDenied': 'Trebuie {requirement} ca să rulați /{command}.',
  'chat.requirement.admin': 'să fiți administrator al spațiului de lucru',
  'chat.requirement.group': 'să faceți parte din {group}',
  'chat.invalidOptions': '/{command} nu a rulat: {problems}',
  'chat.unknownOption': 'opțiune necunoscută „{option}”',
  'chat.staleAction': 'Acest buton nu mai este activ. Cardul poate fi depășit; folosiți-l pe cel mai recent.',
  'chat.internalError': 'Ceva nu a mers bine în Herald. Problema a fost înregistrată (referința {reference}); încercați din nou.',
  'chat.formProblems': 'Formularul nu a fost salvat: {problems}',
  'help.title': 'Comenzile Herald pe care le puteți rula',
  'help.empty': 'Nu puteți rula nicio comandă aici.',
  'ping.pong': 'Pong! Herald rulează pe {platform}.',
};

export const catalogue: Record<Locale, Record<MessageKey, string>> = { en, fr, ro };

/** "fr-FR", "fr_CA", "ro" → a supported locale; anything else → English. */
export function resolveLocale(raw: string | undefined): Locale {
  const language = (raw ?? '').toLowerCase().slice(0, 2);
  return (locales as readonly string[]).includes(language) ? (language as Locale) : 'en';
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(locale: string | undefined): Translate {
  const strings = catalogue[resolveLocale(locale)];
  return (key, params) => strings[key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && name in params ? String(params[name]) : whole));
}
