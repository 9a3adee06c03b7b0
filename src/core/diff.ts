/**
 * A word-level diff between two versions of a draft, for the "what changed" message in a card's
 * thread. Longest common subsequence over words (and the spaces between them), so punctuation and
 * line breaks stay where they were.
 */
export interface DiffPart {
  op: 'same' | 'added' | 'removed';
  text: string;
}

const tokenize = (text: string): string[] => text.match(/\s+|[^\s]+/g) ?? [];

export function wordDiff(before: string, after: string): DiffPart[] {
  const a = tokenize(before);
  const b = tokenize(after);
  // Cap the table at a size no draft reaches (LinkedIn's 3,000 characters is ~1,000 tokens).
  if (a.length * b.length > 4_000_000) return [{ op: 'removed', text: before }, { op: 'added', text: after }];
  const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const parts: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string): void => {
    const last = parts.at(-1);
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      push('same', a[i]!);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push('removed', a[i++]!);
    else push('added', b[j++]!);
  }
  while (i < a.length) push('removed', a[i++]!);
  while (j < b.length) push('added', b[j++]!);
  return parts;
}

/** Chat markdown: ~removed~ and *added* (Slack); Discord reads the same marks as ~~ and ** after rendering. */
export function renderDiff(parts: readonly DiffPart[], marks = { removed: ['~', '~'], added: ['*', '*'] }): string {
  let out = '';
  let previous: DiffPart['op'] = 'same';
  for (const part of parts) {
    if (part.op === 'same' || !part.text.trim()) {
      out += part.text;
      previous = 'same';
      continue;
    }
    const [open, close] = marks[part.op];
    const lead = /^\s*/.exec(part.text)?.[0] ?? '';
    const trail = /\s*$/.exec(part.text)?.[0] ?? '';
    // A replaced word reads "~old~ *new*", not "~old~*new*".
    const gap = previous !== 'same' && !lead && !/\s$/.test(out) ? ' ' : '';
    out += `${gap}${lead}${open}${part.text.trim()}${close}${trail}`;
    previous = part.op;
  }
  return out;
}
