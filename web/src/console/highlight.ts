// The matched words of a case's text, marked where the check found them.

export interface Finding {
  /** Offsets in code points, as the server counts them; null when the check did not say. */
  start?: number | null;
  end?: number | null;
  excerpt: string;
  label: string;
}

export interface Segment {
  text: string;
  /** The labels of the findings this piece of text is part of; none for plain text. */
  labels: string[];
}

/** `text` cut at every finding's edges, each piece with the findings it belongs to. */
export function segments(text: string, findings: readonly Finding[]): Segment[] {
  const spans = findings.flatMap((finding) => {
    const span = spanOf(text, finding);
    return span ? [{ ...span, label: finding.label }] : [];
  });
  const edges = [...new Set([0, text.length, ...spans.flatMap((s) => [s.start, s.end])])].sort(
    (a, b) => a - b,
  );
  const pieces: Segment[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [from, to] = [edges[i]!, edges[i + 1]!];
    const labels = spans.filter((s) => s.start <= from && to <= s.end).map((s) => s.label);
    pieces.push({ text: text.slice(from, to), labels: [...new Set(labels)] });
  }
  return pieces;
}

/** Where a finding lies in `text`, in UTF-16 units: its offsets when given and they hold the
 * excerpt, else the excerpt's first occurrence; null when neither places it. */
function spanOf(text: string, finding: Finding): { start: number; end: number } | null {
  const { start, end, excerpt } = finding;
  if (start != null && end != null && start < end) {
    const [from, to] = [utf16Index(text, start), utf16Index(text, end)];
    if (from !== null && to !== null && text.slice(from, to) === excerpt) return { start: from, end: to };
  }
  const found = excerpt ? text.indexOf(excerpt) : -1;
  return found < 0 ? null : { start: found, end: found + excerpt.length };
}

function utf16Index(text: string, codePoints: number): number | null {
  let index = 0;
  for (let counted = 0; counted < codePoints; counted++) {
    if (index >= text.length) return null;
    index += text.codePointAt(index)! > 0xffff ? 2 : 1;
  }
  return index;
}
