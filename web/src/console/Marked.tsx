import type { Schemas } from "../api/client";
import { segments, type Finding } from "./highlight";
import { labelOf } from "./i18n";

/** The check's reasons as findings to mark: each labelled with its category and its rule. */
export function findingsOf(reasons: readonly Schemas["ModerationReason"][]): (Schemas["ModerationReason"] & Finding)[] {
  return reasons.map((r) => ({ ...r, label: `${labelOf("category", r.category)} · ${r.term || r.how}` }));
}

/** A text quoted with what the check found in it marked, each mark titled with its findings. */
export function MarkedText(props: { text: string; findings: readonly Finding[]; testId?: string }) {
  return (
    <blockquote class="content" data-testid={props.testId}>
      {segments(props.text, props.findings).map((piece, i) =>
        piece.labels.length ? (
          <mark key={i} title={piece.labels.join("; ")}>
            {piece.text}
          </mark>
        ) : (
          piece.text
        ),
      )}
    </blockquote>
  );
}
