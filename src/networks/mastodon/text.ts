/**
 * Mastodon returns a status as HTML (links, mentions and hashtags wrapped, long URLs split into
 * invisible and ellipsis spans). Herald recognises its own posts by their text, so both sides are
 * reduced to the same plain form before comparing.
 */

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return entities[body.toLowerCase()] ?? whole;
  });
}

/** The plain text of a status's HTML content: line breaks kept, tags dropped, entities decoded. */
export function htmlToText(html: string): string {
  const withBreaks = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p[^>]*>/gi, '\n\n')
    .replace(/<\/?p[^>]*>/gi, '');
  return decodeEntities(withBreaks.replace(/<[^>]*>/g, ''));
}

/** `@user@example.social` in what Herald sent is shown as `@user` in the status's HTML. */
const remoteMention = /(^|[^\w@])@([\w.-]+)@[\w-]+(?:\.[\w-]+)+/gu;

/** The form two texts are compared in: NFC, mentions without their domain, whitespace runs as one space, no ends. */
export function comparable(text: string): string {
  return text.normalize('NFC').replace(remoteMention, '$1@$2').replace(/\s+/gu, ' ').trim();
}

/** Whether a status's HTML content says what Herald meant to post. */
export function sameText(html: string, posted: string): boolean {
  return comparable(htmlToText(html)) === comparable(posted);
}
